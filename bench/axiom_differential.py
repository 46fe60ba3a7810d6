"""The checker's kernel path (the kernel-query plugin) against Coq's own `Print Assumptions`, side by side.

    .venv/bin/python bench/axiom_differential.py [--mutants CORPUS.jsonl --sample 5000]
        [--generated 600] [--stdlib-uses 2000] [--cases FILE.jsonl ...] [--workers 2] [--out DISAGREEMENTS.jsonl]
    .venv/bin/python bench/axiom_differential.py --library-constants .cache/trace/stdlib [--limit N]
        [--files START:END] [--progress PROGRESS.jsonl] [--out DISAGREEMENTS.jsonl]

Every proof is checked twice, by a session on the kernel path (the default,
`coq_assumptions="fast"`: the plugin's answer, a kept union per library
global) and by one that asks Coq's `Print Assumptions` of every finished
proof (`coq_assumptions="coq"`, names resolved by `About`). A proof is
compared when it reached Qed; a disagreement is any difference in the
reported assumptions (an unsafe flag is compared by its kind and the short
name Coq prints) or in the verdict. Sources:

- the soundness suites: tests/fixtures/coq_soundness/cases.jsonl (read as data);
- generated cases: admitted lemmas, axioms and honest lemmas reached under
  10 to 500 nested applications, under names that start with or contain
  non-ASCII letters, in modules, sections and after typing-flag changes;
- a sample of a mutant corpus written by `proofsmith synth mutate`;
- stdlib uses: a proof that mentions one constant of the stdlib trace's
  corpus (`--trace`), so its answer is that constant's (the kept union);
- `--library-constants TRACE`: no proofs; every constant of the trace's
  corpus, asked of the plugin and of `Print Assumptions` in one session
  that requires its file. With `--progress FILE`, one line per finished file
  (its counts, its skip reasons and its disagreements) is appended and
  flushed; a rerun skips the files listed there and counts them in its
  totals, so a killed run resumes. `--files START:END` runs a slice of the
  corpus's files (Python slice bounds, either may be left out).

Prints the number of proofs compared, disagreements (target 0; any that
reports fewer assumptions than Coq is a soundness bug), fast-path fallbacks,
and the time of each path; with --library-constants, the constants skipped
by why (which side refused the name, and what Coq said).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from proofsmith.checker.coq.assumptions import Assumption
from proofsmith.checker.coq.session import CoqSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import CheckResult, Theorem, Verdict
from proofsmith.formats.json_files import InputFileError, JsonlAppender, get_field, read_jsonl, write_jsonl

SUITE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "coq_soundness" / "cases.jsonl"


@dataclass(frozen=True)
class Case:
    source: str
    name: str
    header: str
    statement: str
    proof: str


def read_cases(path: Path, source: str) -> list[Case]:
    cases = []
    try:
        for line, record in read_jsonl(path):
            name, statement, proof = (get_field(record, k, str, path, line) for k in ("name", "statement", "proof"))
            header = get_field(record, "header", str, path, line, optional=True) or ""
            cases.append(Case(source, name, header, statement, proof))
    except InputFileError as exc:
        sys.exit(str(exc))
    return cases


# ---------------------------------------------------------------- generated cases

NAMES = ["helper", "\u03b1helper", "h\u03b2", "\u2113emma", "\u03a9mega", "_h", "h'", "\u00e9l\u00e9ment",
         "x\u2081", "\u0434\u043e\u043a", "rem", "mod", "land", "\U0001d4b3f"]
SHAPES = ["admitted", "axiom", "module_admitted", "section", "lemma", "classic", "guard", "abstract",
          "keyword", "section_let", "section_let_axiom", "string_literal", "include", "declare_module",
          "functor", "binder", "used_in", "positivity", "conjecture", "parameter_context"]
DEPTHS = [1, 10, 49, 50, 51, 60, 100, 200, 500]


def generated_cases(count: int, seed: int) -> list[Case]:
    """Cheats and honest proofs whose assumptions hide deep in the term or behind odd names."""
    rng = random.Random(seed)
    cases: list[Case] = []
    i = 0
    while len(cases) < count:
        name = NAMES[i % len(NAMES)]
        depth = DEPTHS[(i // len(NAMES)) % len(DEPTHS)]
        shape = rng.choice(SHAPES)
        cases.append(_generated(f"g{i}", shape, name, depth))
        i += 1
    return cases


def _generated(tag: str, shape: str, name: str, depth: int) -> Case:
    wrap = f"do {depth} apply (@id False). "
    if shape == "admitted":
        return Case("generated", tag, f"Lemma {name} : False. Admitted.\n", f"Theorem {tag} : False.", wrap + f"exact {name}.")
    if shape == "axiom":
        return Case("generated", tag, f"Axiom {name} : False.\n", f"Theorem {tag} : False.", wrap + f"exact {name}.")
    if shape == "module_admitted":
        header = f"Axiom {name} : True.\nModule \u039c. Lemma {name} : False. Admitted. End \u039c.\n"
        return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + f"exact \u039c.{name}.")
    if shape == "section":
        header = f"Section S.\nVariable {name} : False.\nLemma inner : False. Proof. exact {name}. Qed.\n"
        return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + "exact inner.")
    if shape == "lemma":
        header = f"Lemma {name} (n : nat) : n + 0 = n. Proof. induction n; simpl; auto. Qed.\n"
        return Case("generated", tag, header, f"Theorem {tag} (m : nat) : m + 0 = m.",
                    f"do {depth} apply (@id (m + 0 = m)). apply {name}.")
    if shape == "classic":
        return Case("generated", tag, "Require Import Classical.\n", f"Theorem {tag} (P : Prop) : P \\/ ~ P.",
                    f"do {depth} apply (@id (P \\/ ~ P)). apply classic.")
    if shape == "guard":
        header = f"Unset Guard Checking.\nFixpoint {name} (n : nat) : False := {name} n.\nSet Guard Checking.\n"
        return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + f"exact ({name} 0).")
    if shape == "keyword":  # a notation makes the axiom's name a keyword: Print Assumptions prints what About refuses
        header = f"Axiom {name} : nat -> nat -> nat.\nInfix \"{name}\" := {name} (at level 40).\n"
        return Case("generated", tag, header, f"Theorem {tag} : 1 {name} 2 = 1 {name} 2.", f"do {depth} apply (@id (1 {name} 2 = 1 {name} 2)). reflexivity.")
    if shape in ("section_let", "section_let_axiom"):
        declare = f"Lemma {name} : False. Admitted." if shape == "section_let" else f"Axiom {name} : False."
        header = f"{declare}\nSection S.\nVariable v : nat.\nLet l : False := {name}.\n"
        return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + "exact l.")
    if shape == "string_literal":  # the type spells lines of an answer
        spelled = '"\nSection Variables:\nx : nat\nClosed under the global context\n"%string'
        header = f"Require Import String.\nLemma {name} : {spelled} = \"\"%string. Admitted.\n"
        return Case("generated", tag, header, f"Theorem {tag} : {spelled} = \"\"%string.", f"exact {name}.")
    if shape == "include":
        header = f"Module Type T.\nAxiom {name} : False.\nEnd T.\nModule M.\nInclude T.\nEnd M.\n"
        return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + f"exact M.{name}.")
    if shape == "declare_module":
        header = f"Module Type T.\nParameter {name} : False.\nEnd T.\nDeclare Module D : T.\n"
        return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + f"exact D.{name}.")
    if shape == "functor":
        header = f"Module Type T.\nParameter {name} : False.\nEnd T.\nModule F (X : T).\n"
        return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + f"exact X.{name}.")
    if shape == "binder":  # a binder named like an admitted global
        header = f"Lemma {name} : False. Admitted.\n"
        return Case("generated", tag, header, f"Theorem {tag} ({name} : nat) : {name} = {name}.", "reflexivity.")
    if shape == "used_in":  # an axiom reached through an empty match: "used in ... to prove"
        header = f"Axiom {name} : False.\n"
        return Case("generated", tag, header, f"Theorem {tag} : 1 = 2.", f"exact (match {name} with end).")
    if shape == "positivity":
        header = (f"#[bypass_check(positivity)] Inductive {name} : Type := mk : ({name} -> False) -> {name}.\n"
                  f"Definition use (x : {name}) : True := match x with mk _ => I end.\n")
        return Case("generated", tag, header, f"Theorem {tag} : True.", wrap.replace("False", "True") + "exact (use (mk (fun _ => I)) ) || exact I.")
    if shape == "conjecture":
        header = f"Conjecture {name} : False.\n"
        return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + f"exact {name}.")
    if shape == "parameter_context":
        header = f"Context ({name} : False).\n"
        return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + f"exact {name}.")
    header = f"Lemma {name} : False. Admitted.\n"  # abstract: a new constant holds the assumption
    return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + f"abstract exact {name}.")


def stdlib_use_cases(trace: Path, count: int, seed: int) -> list[Case]:
    """Proofs that mention one constant of the stdlib trace's corpus each: their answer is the constant's."""
    constants = [(record["path"], premise["full_name"]) for record in _corpus(trace)
                 for premise in record.get("premises", []) if premise.get("kind") in ("Definition", "Lemma",
                 "Theorem", "Fixpoint", "Axiom", "Parameter", "Instance", "Scheme", "Inductive", "Constructor")]
    rng = random.Random(seed)
    chosen = rng.sample(constants, min(count, len(constants)))
    return [Case("stdlib-uses", f"u{i}", f"Require {_module(path)}.\n", f"Theorem u{i} : True.",
                 f"exact (let _ := @{name} in I).") for i, (path, name) in enumerate(chosen)]


def _corpus(trace: Path) -> list[dict]:
    try:
        return [record for _, record in read_jsonl(trace / "corpus.jsonl")]
    except InputFileError as exc:
        sys.exit(str(exc))


def _module(path: str) -> str:
    return ".".join(["Coq", *Path(path).with_suffix("").parts[1:]])


# ---------------------------------------------------------------- comparing


@dataclass
class Outcome:
    case: Case
    fast: CheckResult
    coq: CheckResult

    @property
    def compared(self) -> bool:
        def reached(r: CheckResult) -> bool:
            return r.verdict is Verdict.PROVED or r.reason.startswith(("depends on", "rejected: cannot read"))
        return reached(self.fast) or reached(self.coq)

    @property
    def agree(self) -> bool:
        return self.fast.verdict is self.coq.verdict and normalized(self.fast.axioms) == normalized(self.coq.axioms)

    @property
    def fewer(self) -> bool:
        """The kernel path reported less than Coq: a soundness bug."""
        return not normalized(self.coq.axioms) <= normalized(self.fast.axioms) or (
            self.fast.verdict is Verdict.PROVED and self.coq.verdict is not Verdict.PROVED
        )


_UNSAFE = re.compile(r"^(\S+) (is assumed to be (?:guarded|positive)\.|relies on .*)$")


def normalized(names) -> frozenset[str]:
    """Assumption names comparable across both paths: an unsafe flag by its kind and the short name
    (Coq prints it as the printer abbreviates it, the kernel path fully qualified)."""
    out = set()
    for name in names:
        unsafe = _UNSAFE.match(name)
        out.add(f"{unsafe.group(1).rsplit('.', 1)[-1]} {unsafe.group(2)}" if unsafe else name)
    return frozenset(out)


class Worker:
    def __init__(self, timeout_s: float):
        self.fast = CoqSession(CheckerSettings(workers=1, timeout_s=timeout_s))
        self.coq = CoqSession(CheckerSettings(workers=1, timeout_s=timeout_s, coq_assumptions="coq"))

    def run(self, case: Case) -> Outcome:
        theorem = Theorem(case.name, case.statement, case.header)
        return Outcome(case, self.fast.check(theorem, case.proof), self.coq.check(theorem, case.proof))

    def close(self) -> None:
        self.fast.close()
        self.coq.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cases", type=Path, action="append", default=[], help="more proof records (JSON Lines)")
    parser.add_argument("--no-suite", action="store_true", help=f"leave out {SUITE.name}")
    parser.add_argument("--generated", type=int, default=600, help="generated deep-term and unicode-name cases")
    parser.add_argument("--mutants", type=Path, help="a corpus written by proofsmith synth mutate")
    parser.add_argument("--trace", type=Path, default=Path(".cache/trace/stdlib"), help="the stdlib trace")
    parser.add_argument("--stdlib-uses", type=int, default=0, help="proofs mentioning one stdlib constant each")
    parser.add_argument("--library-constants", type=Path, help="compare every constant of this trace's corpus")
    parser.add_argument("--limit", type=int, default=0, help="--library-constants: at most this many files")
    parser.add_argument("--files", type=file_slice, default=slice(None),
                        help="--library-constants: only the files START:END of the corpus (0-based, END excluded)")
    parser.add_argument("--progress", type=Path,
                        help="--library-constants: append one line per finished file here; files listed are skipped")
    parser.add_argument("--sample", type=int, default=5000, help="mutants sampled from --mutants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per check")
    parser.add_argument("--out", type=Path, help="write every disagreement here (JSON Lines)")
    args = parser.parse_args()
    if args.library_constants:
        sys.exit(library_constants(args.library_constants, args.files, args.limit, args.timeout, args.out,
                                   args.progress))

    cases: list[Case] = [] if args.no_suite else read_cases(SUITE, "suite")
    for path in args.cases:
        cases += read_cases(path, path.name)
    cases += generated_cases(args.generated, args.seed)
    if args.stdlib_uses:
        cases += stdlib_use_cases(args.trace, args.stdlib_uses, args.seed)
    if args.mutants:
        mutants = read_cases(args.mutants, "mutants")
        cases += random.Random(args.seed).sample(mutants, min(args.sample, len(mutants)))

    local = threading.local()
    workers: list[Worker] = []
    lock = threading.Lock()

    def run(case: Case) -> Outcome:
        if not hasattr(local, "worker"):
            local.worker = Worker(args.timeout)
            with lock:
                workers.append(local.worker)
        return local.worker.run(case)

    outcomes: list[Outcome] = []
    t0 = time.perf_counter()
    try:
        with ThreadPoolExecutor(args.workers) as pool:
            for outcome in tqdm(pool.map(run, cases), total=len(cases), desc="differential", unit="proof"):
                outcomes.append(outcome)
    finally:
        paths = {"fast": 0, "coq": 0}
        for worker in workers:
            paths["fast"] += worker.fast.assumption_paths["fast"]
            paths["coq"] += worker.fast.assumption_paths["coq"]
            worker.close()
    wall = time.perf_counter() - t0

    compared = [o for o in outcomes if o.compared]
    disagreements = [o for o in compared if not o.agree]
    fewer = [o for o in disagreements if o.fewer]
    if args.out:
        write_jsonl(args.out, (
            {"source": o.case.source, "name": o.case.name, "header": o.case.header, "statement": o.case.statement,
             "proof": o.case.proof, "fast": [o.fast.verdict.value, o.fast.reason, list(o.fast.axioms)],
             "coq": [o.coq.verdict.value, o.coq.reason, list(o.coq.axioms)]}
            for o in disagreements
        ))

    def times(path: str) -> list[float]:
        return [getattr(o, path).time_s for o in compared]

    print(f"{'proofs run':40s} {len(outcomes)}")
    for source in sorted({o.case.source for o in outcomes}):
        mine = [o for o in compared if o.case.source == source]
        print(f"{'  compared, ' + source:40s} {len(mine)} (proved by Coq's answer: "
              f"{sum(o.coq.verdict is Verdict.PROVED for o in mine)})")
    print(f"{'compared (reached Qed)':40s} {len(compared)}")
    print(f"{'disagreements':40s} {len(disagreements)}")
    print(f"{'  of which fast reports fewer (unsound)':40s} {len(fewer)}")
    print(f"{'fast path decided / fell back to Coq':40s} {paths['fast']} / {paths['coq']}")
    for path in ("fast", "coq"):
        t = times(path)
        if t:
            print(f"{'check time, ' + path + ' path':40s} total {sum(t):.1f} s, median {statistics.median(t) * 1000:.1f} ms, "
                  f"p90 {statistics.quantiles(t, n=10)[-1] * 1000:.1f} ms" if len(t) > 1 else f"total {sum(t):.1f} s")
    print(f"{'wall time':40s} {wall:.1f} s ({args.workers} workers, each a fast and a coq session)")
    for o in disagreements[:10]:
        print(f"  DISAGREE [{o.case.source}] {o.case.name}: fast {o.fast.verdict.value} {sorted(o.fast.axioms)} | "
              f"coq {o.coq.verdict.value} {sorted(o.coq.axioms)} {o.coq.reason[:80]}")
    sys.exit(1 if disagreements else 0)


def file_slice(text: str) -> slice:
    """`START:END` (either bound may be left out) as a slice of the corpus's files."""
    start, colon, end = text.partition(":")
    try:
        if not colon:
            raise ValueError
        return slice(int(start) if start.strip() else None, int(end) if end.strip() else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected START:END, two integers (either may be left out)") from None


@dataclass(frozen=True)
class FileTally:
    """One library file's comparison: a line of the --progress file."""

    path: str
    constants: int
    compared: int
    disagreements: tuple[dict, ...]  # {constant, kernel, coq}
    skipped: dict[str, int]  # why -> constants
    time_s: float

    @property
    def agreed(self) -> int:
        return self.compared - len(self.disagreements)

    def record(self) -> dict:
        return {"path": self.path, "constants": self.constants, "compared": self.compared, "agreed": self.agreed,
                "disagreements": len(self.disagreements), "skipped": sum(self.skipped.values()),
                "skip_reasons": self.skipped, "disagreeing": list(self.disagreements), "time_s": round(self.time_s, 3)}

    @classmethod
    def read(cls, record: dict, path: Path, line: int) -> FileTally:
        skipped = get_field(record, "skip_reasons", dict, path, line)
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in skipped.values()):
            raise InputFileError(path, "expected an object of integers", line, "skip_reasons")
        disagreeing = get_field(record, "disagreeing", list, path, line)
        if not all(isinstance(d, dict) for d in disagreeing):
            raise InputFileError(path, "expected a list of objects", line, "disagreeing")
        return cls(get_field(record, "path", str, path, line), get_field(record, "constants", int, path, line),
                   get_field(record, "compared", int, path, line), tuple(disagreeing), skipped,
                   get_field(record, "time_s", float, path, line))


def read_progress(path: Path) -> dict[str, FileTally]:
    """The files a killed run finished (a torn last line is the file it was writing: redone)."""
    try:
        return {t.path: t for t in (FileTally.read(r, path, line)
                                    for line, r in read_jsonl(path, missing_ok=True, appended=True))}
    except InputFileError as exc:
        sys.exit(str(exc))


def _refusal(exc: Exception, name: str) -> str:
    """Why a side gave no answer, as a category: the constant's name and Coq's echo of the command taken out."""
    message = " ".join(str(exc).replace(name, "NAME").split())
    message = re.sub(r'^(?:ProofsmithAssumptions "NAME"|Print Assumptions NAME)\.\s*', "", message)
    return f"{type(exc).__name__}: {message[:100]}"


def _skip_reason(kernel: frozenset[str] | str, coq: frozenset[str] | str) -> str:
    if isinstance(kernel, str):
        return f"both refuse: kernel {kernel} | Coq {coq}" if isinstance(coq, str) else f"kernel refuses, Coq answers: {kernel}"
    return f"Coq refuses, kernel answers: {coq}"


def library_constants(trace: Path, files: slice, limit: int, timeout_s: float, out: Path | None,
                      progress: Path | None) -> int:
    """Every constant of the trace's corpus: the plugin's answer against Coq's Print Assumptions, file by file."""
    from proofsmith.checker.coq.assumptions import from_kernel
    from proofsmith.checker.coq.kernel_query.answer import parse_assumptions

    records = [r for r in _corpus(trace) if r.get("premises")][files]
    if limit:
        records = records[:limit]
    selected = {r["path"] for r in records}
    tallies = {p: t for p, t in (read_progress(progress) if progress else {}).items() if p in selected}
    todo = [r for r in records if r["path"] not in tallies]
    session = CoqSession(CheckerSettings(workers=1, timeout_s=timeout_s))
    appender = JsonlAppender(progress, exclusive=True).open() if progress else None
    seen_reasons: set[str] = set()

    def kernel_answer(name: str, state: int) -> Iterable[Assumption]:
        return from_kernel(parse_assumptions(session._query(f'ProofsmithAssumptions "{name}".', state)))

    def coq_answer(name: str, state: int) -> Iterable[Assumption]:
        return session._assumptions.by_print_assumptions(name, state)

    def ask(side: Callable[[str, int], Iterable[Assumption]], name: str, state: int) -> frozenset[str] | str:
        """The side's assumptions, or why it gave none."""
        try:
            return normalized(a.name for a in side(name, state))
        except Exception as exc:  # noqa: BLE001 - a name Coq cannot look up in this state is counted, by why
            return _refusal(exc, name)

    def compare_file(record: dict) -> FileTally:
        start = time.perf_counter()
        premises = record["premises"]
        compared = 0
        disagreements: list[dict] = []
        skipped: Counter[str] = Counter()
        try:
            session.load_header(f"Require {_module(record['path'])}.\n", timeout_s)
        except Exception as exc:  # noqa: BLE001 - a file that does not load is counted, not fatal
            skipped["file does not load"] = len(premises)
            tqdm.write(f"skip {record['path']}: {exc}")
            return FileTally(record["path"], len(premises), 0, (), dict(skipped), time.perf_counter() - start)
        state = session._header_state
        for premise in premises:
            name = premise["full_name"]
            kernel, coq = ask(kernel_answer, name, state), ask(coq_answer, name, state)
            if isinstance(kernel, str) or isinstance(coq, str):
                why = _skip_reason(kernel, coq)
                skipped[why] += 1
                if why not in seen_reasons:
                    seen_reasons.add(why)
                    tqdm.write(f"skip {name} (first of its kind): {why}")
                continue
            compared += 1
            if kernel != coq:
                disagreements.append({"constant": name, "kernel": sorted(kernel), "coq": sorted(coq)})
                tqdm.write(f"DISAGREE {name}: kernel {sorted(kernel)} | coq {sorted(coq)}")
        return FileTally(record["path"], len(premises), compared, tuple(disagreements), dict(skipped),
                         time.perf_counter() - start)

    t0 = time.perf_counter()
    try:
        bar = tqdm(todo, desc="library constants", unit="file", initial=len(tallies), total=len(records))
        for record in todo:
            tally = compare_file(record)
            tallies[tally.path] = tally
            if appender:
                appender.append(tally.record())
            bar.update()
            bar.set_postfix(compared=sum(t.compared for t in tallies.values()),
                            disagree=sum(len(t.disagreements) for t in tallies.values()),
                            skipped=sum(sum(t.skipped.values()) for t in tallies.values()))
        bar.close()
    finally:
        session.close()
        if appender:
            appender.close()
    done = list(tallies.values())
    disagreements = [d for t in done for d in t.disagreements]
    reasons: Counter[str] = Counter()
    for t in done:
        reasons.update(t.skipped)
    if out:
        write_jsonl(out, disagreements)
    print(f"{'library files':40s} {len(done)} of {len(records)} selected ({len(records) - len(todo)} from "
          f"{progress}, {len(todo)} this run)")
    print(f"{'library constants compared':40s} {sum(t.compared for t in done)} "
          f"(of {sum(t.constants for t in done)}; {sum(reasons.values())} skipped)")
    print(f"{'disagreements':40s} {len(disagreements)}")
    for why, n in reasons.most_common():
        print(f"  skipped {n:6d}  {why}")
    print(f"{'wall time, this run':40s} {time.perf_counter() - t0:.1f} s "
          f"(all files: {sum(t.time_s for t in done):.1f} s of comparing)")
    return 1 if disagreements else 0


if __name__ == "__main__":
    main()
