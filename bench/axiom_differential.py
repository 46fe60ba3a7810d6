"""The checker's kernel path (the kernel-query plugin) against Coq's own `Print Assumptions`, side by side.

    .venv/bin/python bench/axiom_differential.py [--mutants CORPUS.jsonl --sample 5000]
        [--generated 600] [--stdlib-uses 2000] [--cases FILE.jsonl ...] [--workers 2] [--out DISAGREEMENTS.jsonl]
    .venv/bin/python bench/axiom_differential.py --library-constants .cache/trace/stdlib [--limit N]

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
  that requires its file.

Prints the number of proofs compared, disagreements (target 0; any that
reports fewer assumptions than Coq is a soundness bug), fast-path fallbacks,
and the time of each path.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from proofsmith.checker.coq.session import CoqSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import CheckResult, Theorem, Verdict
from proofsmith.formats.json_files import InputFileError, get_field, read_jsonl, write_jsonl

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
    parser.add_argument("--sample", type=int, default=5000, help="mutants sampled from --mutants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per check")
    parser.add_argument("--out", type=Path, help="write every disagreement here (JSON Lines)")
    args = parser.parse_args()
    if args.library_constants:
        sys.exit(library_constants(args.library_constants, args.limit, args.timeout, args.out))

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


def library_constants(trace: Path, limit: int, timeout_s: float, out: Path | None) -> int:
    """Every constant of the trace's corpus: the plugin's answer against Coq's Print Assumptions, file by file."""
    from proofsmith.checker.coq.assumptions import from_kernel
    from proofsmith.checker.coq.kernel_query.answer import parse_assumptions

    records = [r for r in _corpus(trace) if r.get("premises")]
    if limit:
        records = records[:limit]
    session = CoqSession(CheckerSettings(workers=1, timeout_s=timeout_s))
    compared = skipped = 0
    disagreements = []
    t0 = time.perf_counter()
    try:
        bar = tqdm(records, desc="library constants", unit="file")
        for record in bar:
            try:
                session.load_header(f"Require {_module(record['path'])}.\n", timeout_s)
            except Exception as exc:  # noqa: BLE001 - a file that does not load is counted, not fatal
                skipped += len(record["premises"])
                tqdm.write(f"skip {record['path']}: {exc}")
                continue
            state = session._header_state
            for premise in record["premises"]:
                name = premise["full_name"]
                try:
                    kernel = normalized(a.name for a in from_kernel(parse_assumptions(
                        session._query(f'ProofsmithAssumptions "{name}".', state))))
                    coq = normalized(a.name for a in session._assumptions.by_print_assumptions(name, state))
                except Exception as exc:  # noqa: BLE001 - a name Coq cannot look up in this state
                    skipped += 1
                    if skipped <= 20:
                        tqdm.write(f"skip {name}: {str(exc)[:120]}")
                    continue
                compared += 1
                if kernel != coq:
                    disagreements.append({"constant": name, "kernel": sorted(kernel), "coq": sorted(coq)})
                    tqdm.write(f"DISAGREE {name}: kernel {sorted(kernel)} | coq {sorted(coq)}")
            bar.set_postfix(compared=compared, disagree=len(disagreements), skipped=skipped)
    finally:
        session.close()
    if out:
        write_jsonl(out, disagreements)
    print(f"{'library constants compared':40s} {compared} ({len(records)} files, {skipped} skipped)")
    print(f"{'disagreements':40s} {len(disagreements)}")
    print(f"{'wall time':40s} {time.perf_counter() - t0:.1f} s")
    return 1 if disagreements else 0


if __name__ == "__main__":
    main()
