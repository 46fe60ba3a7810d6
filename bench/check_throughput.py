"""Throughput of `proofsmith check` against one coqc process per proof, and the
round trip of a trivial tactic through the interactive API.

    .venv/bin/python bench/check_throughput.py [--proofs 200] [--workers 2] [--cold | --cold-and-warm]

Both sides check the same proofs with the same parallelism; the coqc side
compiles prelude + header + statement + proof + Print Assumptions per proof,
which is what checking a proof costs without a warm session.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from proofsmith.checker.coq.session import CoqSession
from proofsmith.checker.registry import open_checker
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import NextState, ProofTask, Theorem

NAT = ""
Z = "Require Import ZArith.\nOpen Scope Z_scope.\n"
R = "Require Import Reals.\nOpen Scope R_scope.\n"

TEMPLATES = [
    (NAT, "Theorem b{i} (n : nat) : n + {i} = {i} + n.", "intros; lia."),
    (NAT, "Theorem b{i} : {i} + {i} = {j}.", "reflexivity."),
    (NAT, "Theorem b{i} (P Q : Prop) : P /\\ Q -> Q /\\ P.", "intros [p q]; split; assumption."),
    (Z, "Theorem b{i} (x y : Z) : (x + {i}) * (x + {i}) = x * x + {j} * x + {k}.", "ring."),
    (Z, "Theorem b{i} (x : Z) : x > {i} -> 2 * x > {j}.", "intros; lia."),
    (R, "Theorem b{i} (x : R) : x > {i} -> x + x > {j}.", "intros; lra."),
    (R, "Theorem b{i} (x y : R) : (x + y) ^ 2 = x ^ 2 + 2 * x * y + y ^ 2 + {i} - {i}.", "ring."),
    (NAT, "Theorem b{i} : forall n : nat, n * 0 = 0.", "induction n; simpl; auto."),
]


def make_proofs(count: int) -> list[ProofTask]:
    tasks = []
    for i in range(count):
        header, statement, proof = TEMPLATES[i % len(TEMPLATES)]
        text = statement.format(i=i, j=2 * i, k=i * i)
        tasks.append(ProofTask(Theorem(f"b{i}", text, header), proof))
    return tasks


def coqc_one(task: ProofTask, prelude: str, workdir: Path) -> bool:
    path = workdir / f"{task.theorem.name}.v"
    path.write_text(
        f"{prelude}\n{task.theorem.header}{task.theorem.statement}\nProof.\n{task.proof}\nQed.\n"
        f"Print Assumptions {task.theorem.name}.\n"
    )
    done = subprocess.run(["coqc", path.name], cwd=workdir, capture_output=True)
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--round-trips", type=int, default=2000)
    parser.add_argument("--cold", action="store_true",
                        help="start from empty caches of kernel answers (the first run on a machine)")
    parser.add_argument("--cold-and-warm", action="store_true",
                        help="both against one coqc measurement: empty caches, then the caches that run left")
    args = parser.parse_args()
    cold_cache = tempfile.TemporaryDirectory() if args.cold or args.cold_and_warm else None
    settings = (CheckerSettings(workers=args.workers, cache_dir=Path(cold_cache.name)) if cold_cache
                else CheckerSettings(workers=args.workers))
    tasks = make_proofs(args.proofs)

    def check_all() -> tuple[float, int]:
        t0 = time.perf_counter()
        with open_checker("coq", settings) as checker:
            results = checker.check_batch(tasks)
        return time.perf_counter() - t0, sum(r.proved for r in results)

    ours, proved = check_all()
    warm = check_all() if args.cold_and_warm else None

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            ok = list(pool.map(lambda t: coqc_one(t, settings.coq_prelude, Path(tmp)), tasks))
        coqc = time.perf_counter() - t0

    with CoqSession(settings) as session:
        state = session.open(Theorem("rt", "Theorem rt (n : nat) : n = n."))
        samples = []
        for _ in range(args.round_trips):
            t = time.perf_counter()
            result = session.run(state, "idtac.")
            samples.append(time.perf_counter() - t)
            assert isinstance(result, NextState)

    figures = {
        "axiom_cache": "cold" if cold_cache else "as found on disk",
        "proofs": len(tasks),
        "workers": args.workers,
        "proofsmith_check_s": round(ours, 2),
        "proofsmith_proofs_per_s": round(len(tasks) / ours, 1),
        "proofsmith_proved": proved,
        "coqc_per_proof_s": round(coqc, 2),
        "coqc_proofs_per_s": round(len(tasks) / coqc, 2),
        "coqc_proved": sum(ok),
        "speedup": round(coqc / ours, 1),
        **({"warm_check_s": round(warm[0], 2), "warm_proved": warm[1], "warm_speedup": round(coqc / warm[0], 1)}
           if warm else {}),
        "interactive_round_trip_median_ms": round(statistics.median(samples) * 1000, 3),
        "interactive_round_trip_p90_ms": round(statistics.quantiles(samples, n=10)[-1] * 1000, 3),
    }
    for key, value in figures.items():
        print(f"{key:36s} {value}")
    json.dump(figures, sys.stderr)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
