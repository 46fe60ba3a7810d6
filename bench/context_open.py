"""Time to open a theorem in its own file context: the first in a file, and the next ones in the same file.

    .venv/bin/python bench/context_open.py [--trace .cache/trace/stdlib] [--split random/test]
        [--files 20] [--per-file 5] [--seed 0]

Samples files of a traced library's split, and in each up to `--per-file` of
its theorems; opens them in file order, then the first one again (a step
back), in one session per file, as `proofsmith eval --benchmark
coq-library` does. "first" includes starting coqidetop as the file's module
and replaying the file up to the statement; "next" is moving forward (the
sentences in between); "back" is one `Edit_at`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from proofsmith.checker.coq.file_context import THEOREM_WORDS, theorem_in_context
from proofsmith.checker.coq.session import CoqSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.formats.leandojo import read_split


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--trace", type=Path, default=Path(".cache/trace/stdlib"))
    parser.add_argument("--split", default="random/test")
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--per-file", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    by_file: dict[str, list] = defaultdict(list)
    for theorem in read_split(args.trace / f"{args.split}.json"):
        if theorem.extra.get("kind") in THEOREM_WORDS:
            by_file[theorem.file_path].append(theorem)
    rng = random.Random(args.seed)
    files = rng.sample(sorted(by_file), min(args.files, len(by_file)))
    timings: dict[str, list[float]] = {"first": [], "next": [], "back": []}
    sentences = []
    for path in tqdm(files, desc="files", unit="file"):
        chosen = sorted(rng.sample(by_file[path], min(args.per_file, len(by_file[path]))), key=lambda t: t.start[0])
        theorems = [theorem_in_context("stdlib", path, t.full_name, t.start[0]) for t in chosen]
        session = CoqSession(CheckerSettings(workers=1))
        with session:
            for i, theorem in enumerate([*theorems, theorems[0]]):
                t0 = time.perf_counter()
                session.open(theorem)
                elapsed = time.perf_counter() - t0
                timings["first" if i == 0 else "back" if i == len(theorems) else "next"].append(elapsed)
            sentences.append(len(session._prefix))

    print(f"{'files':28s} {len(files)} ({args.split}, seed {args.seed})")
    for kind, values in timings.items():
        if values:
            p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
            print(f"{'open, ' + kind:28s} n={len(values):3d}  median {statistics.median(values):7.3f} s  "
                  f"p90 {p90:7.3f} s  max {max(values):7.3f} s")
    print(f"{'sentences replayed per file':28s} median {statistics.median(sentences):.0f}, max {max(sentences)}")


if __name__ == "__main__":
    main()
