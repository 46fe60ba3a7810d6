"""The checker's fast assumption path against Coq's own `Print Assumptions`, side by side.

    .venv/bin/python bench/axiom_differential.py [--mutants CORPUS.jsonl --sample 5000]
        [--generated 600] [--cases FILE.jsonl ...] [--workers 2] [--out DISAGREEMENTS.jsonl]

Every proof is checked twice, by a session on the fast path (the default,
`coq_assumptions="fast"`) and by one that asks Coq's `Print Assumptions` of
every finished proof (`coq_assumptions="coq"`). A proof is compared when it
reached Qed; a disagreement is any difference in verdict or in the reported
assumptions. Sources:

- the soundness suites: tests/fixtures/coq_soundness/cases.jsonl (read as data);
- generated cases: admitted lemmas, axioms and honest lemmas reached under
  10 to 500 nested applications, under names that start with or contain
  non-ASCII letters, in modules, sections and after typing-flag changes;
- a sample of a mutant corpus written by `proofsmith synth mutate`.

Prints the number of proofs compared, disagreements (target 0; any that
reports fewer assumptions than Coq is a soundness bug), fast-path fallbacks,
and the time of each path.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from proofsmith.checker.coq.session import CoqSession
from proofsmith.formats.json_files import InputFileError, get_field, read_jsonl, write_jsonl
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import CheckResult, Theorem, Verdict

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
         "x\u2081", "\u0434\u043e\u043a"]
DEPTHS = [1, 10, 49, 50, 51, 60, 100, 200, 500]


def generated_cases(count: int, seed: int) -> list[Case]:
    """Cheats and honest proofs whose assumptions hide deep in the term or behind odd names."""
    rng = random.Random(seed)
    cases: list[Case] = []
    i = 0
    while len(cases) < count:
        name = NAMES[i % len(NAMES)]
        depth = DEPTHS[(i // len(NAMES)) % len(DEPTHS)]
        shape = rng.choice(["admitted", "axiom", "module_admitted", "section", "lemma", "classic", "guard", "abstract"])
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
    header = f"Lemma {name} : False. Admitted.\n"  # abstract: a new constant holds the assumption
    return Case("generated", tag, header, f"Theorem {tag} : False.", wrap + f"abstract exact {name}.")


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
        return self.fast.verdict is self.coq.verdict and set(self.fast.axioms) == set(self.coq.axioms)

    @property
    def fewer(self) -> bool:
        """The fast path reported less than Coq: a soundness bug."""
        return not set(self.coq.axioms) <= set(self.fast.axioms) or (
            self.fast.verdict is Verdict.PROVED and self.coq.verdict is not Verdict.PROVED
        )


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, action="append", default=[], help="more proof records (JSON Lines)")
    parser.add_argument("--no-suite", action="store_true", help=f"leave out {SUITE.name}")
    parser.add_argument("--generated", type=int, default=600, help="generated deep-term and unicode-name cases")
    parser.add_argument("--mutants", type=Path, help="a corpus written by proofsmith synth mutate")
    parser.add_argument("--sample", type=int, default=5000, help="mutants sampled from --mutants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per check")
    parser.add_argument("--out", type=Path, help="write every disagreement here (JSON Lines)")
    args = parser.parse_args()

    cases: list[Case] = [] if args.no_suite else read_cases(SUITE, "suite")
    for path in args.cases:
        cases += read_cases(path, path.name)
    cases += generated_cases(args.generated, args.seed)
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


if __name__ == "__main__":
    main()
