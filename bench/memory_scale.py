"""How the tactic memory's nearest-neighbour query grows with the memory: 1x to 10x the stdlib's rows.

    .venv/bin/python bench/memory_scale.py [--trace .cache/trace/stdlib] [--scales 1,2,5,10]
        [--queries 300] [--k 32] [--nprobe 8,32] [--out FILE.json]

The memory of `random/train` (the hashed symbol features the memory embeds states with) is
grown to each scale by copies of its own rows whose non-zero values are jittered by up to 1%
(then renormalised): the same sparsity pattern, so each copy costs a query what a mutant of a
train theorem or a proof iterate adds would (they resemble what is there), and no exact ties.
For each scale, goal states of `random/test` (seeded) are asked one at a time, as search asks
them, and timed by method (median and 95th percentile):

- sparse exact: the memory's own scan (retrieval.sparse_index), exact;
- faiss flat: FAISS's IndexFlatIP on one thread, exact (what the memory used before);
- faiss ivf, nprobe P: the approximate index a memory past APPROX_ROWS rows answers from
  (prover.tactic_memory: retrieval.index.build_ivf, 4 sqrt(N) lists, k-means on 40 rows a
  list); recall@k is the share of the exact top k's scores it returns (up to 1e-5: equal
  scores are the same answer).

Bytes held by each index are printed beside. The exact scan's cost is linear in the postings of
the query's dimensions; the approximate index is worth having only if that stops being small
next to what an expansion spends in the checker (tens to hundreds of ms: docs/internals.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from proofsmith.formats.leandojo import read_split
from proofsmith.prover.generators.tactic_memory import DEFAULT_NEIGHBOURS
from proofsmith.prover.tactic_memory import APPROX_TRAIN_PER_LIST, memory_encoder, state_key
from proofsmith.retrieval.index import build_ivf, ivf_search, search_few_queries
from proofsmith.retrieval.sparse_index import SparseInnerProductIndex


def grown(base: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """`base` and scale-1 jittered copies of it (same non-zero pattern, unit rows)."""
    copies = [base]
    for _ in range(scale - 1):
        copy = base * (1 + 0.01 * rng.random(base.shape, dtype=np.float32))
        copies.append(copy / np.maximum(np.linalg.norm(copy, axis=1, keepdims=True), 1e-12))
    return np.ascontiguousarray(np.concatenate(copies), dtype=np.float32)


def timed(search, queries: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    """Milliseconds of each single-query search and its scores."""
    times, scores = [], []
    for query in queries:
        started = time.perf_counter()
        found = search(query[None, :])
        times.append((time.perf_counter() - started) * 1000)
        scores.append(found)
    return times, scores


def recall(exact: list[np.ndarray], approx: list[np.ndarray]) -> float:
    """Share of the exact top-k scores the approximate answers hold (scores compared up to 1e-5)."""
    hit = total = 0
    for want, got in zip(exact, approx):
        want = want[np.isfinite(want)]
        got = np.sort(got[np.isfinite(got)])[::-1]
        total += len(want)
        hit += sum(1 for i, score in enumerate(want) if i < len(got) and got[i] >= score - 1e-5)
    return hit / total if total else 1.0


def summary(times: list[float]) -> dict[str, float]:
    return {"median_ms": round(float(np.median(times)), 3), "p95_ms": round(float(np.percentile(times, 95)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trace", type=Path, default=Path(".cache/trace/stdlib"))
    parser.add_argument("--scales", default="1,2,5,10")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=DEFAULT_NEIGHBOURS)
    parser.add_argument("--nprobe", default="8,32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    try:
        scales = [int(s) for s in args.scales.split(",")]
        probes = [int(p) for p in args.nprobe.split(",")]
    except ValueError:
        sys.exit(f"memory_scale: --scales {args.scales!r} and --nprobe {args.nprobe!r} must be comma-separated whole numbers")
    for part in ("train", "test"):
        if not (args.trace / "random" / f"{part}.json").is_file():
            sys.exit(f"memory_scale: {args.trace}/random/{part}.json not found (run `proofsmith trace --library stdlib "
                     f"--out {args.trace}` first)")
    import faiss

    encoder = memory_encoder()
    train = [t.state_before for thm in read_split(args.trace / "random" / "train.json")
             for t in thm.traced_tactics if t.state_before.strip() and t.tactic.strip()]
    test = [t.state_before for thm in read_split(args.trace / "random" / "test.json")
            for t in thm.traced_tactics if t.state_before.strip()]
    started = time.perf_counter()
    base = np.asarray(encoder.encode(list(dict.fromkeys(state_key(s) for s in train))), dtype=np.float32)
    encode_s = time.perf_counter() - started
    queries = np.asarray(encoder.encode([state_key(s) for s in random.Random(args.seed).sample(test, min(args.queries, len(test)))]),
                         dtype=np.float32)
    print(f"{len(base):,} distinct train states ({len(train):,} steps) encoded in {encode_s:.1f} s; "
          f"{len(queries)} test states asked one at a time, k = {args.k}; load {os.getloadavg()[0]:.1f}", flush=True)
    rng = np.random.default_rng(args.seed)
    rows_out = []
    for scale in scales:
        vectors = grown(base, scale, rng)
        sparse_index = SparseInnerProductIndex(vectors.shape[1])
        sparse_index.add(vectors)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        started = time.perf_counter()
        ivf = build_ivf(vectors, APPROX_TRAIN_PER_LIST)
        ivf_build_s = time.perf_counter() - started
        lists = int(ivf.nlist)
        exact_times, exact = timed(lambda q, index=sparse_index: index.search(q, args.k)[0][0], queries)
        flat_times, _ = timed(lambda q, index=flat: search_few_queries(index, q, args.k, None)[0][0], queries)
        row = {"scale": scale, "rows": len(vectors), "load": round(os.getloadavg()[0], 1),
               "sparse exact": {**summary(exact_times), "mib": round(sparse_index.nbytes / 2**20, 1)},
               "faiss flat": {**summary(flat_times), "mib": round(vectors.nbytes / 2**20, 1)}}
        for probe in probes:
            ivf_times, approx = timed(lambda q, index=ivf, probe=probe: ivf_search(index, q, args.k, probe)[0][0], queries)
            row[f"faiss ivf{lists}, nprobe {probe}"] = {**summary(ivf_times), "recall": round(recall(exact, approx), 4),
                                                        "mib": round(vectors.nbytes / 2**20, 1), "build_s": round(ivf_build_s, 1)}
        rows_out.append(row)
        print(f"\n{scale}x: {len(vectors):,} rows (load {row['load']})", flush=True)
        for method, figures in row.items():
            if isinstance(figures, dict):
                extra = "".join(f", {key} {value}" for key, value in figures.items() if key not in ("median_ms", "p95_ms"))
                print(f"  {method:28s} median {figures['median_ms']:8.3f} ms  p95 {figures['p95_ms']:8.3f} ms{extra}", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"k": args.k, "queries": len(queries), "rows": rows_out}, indent=1) + "\n")


if __name__ == "__main__":
    main()
