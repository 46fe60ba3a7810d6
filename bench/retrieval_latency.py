"""Premise retrieval latency with accessibility filtering: FAISS versus NumPy brute force.

One run over a full corpus and 1,000 queries, each asked from its theorem's
place in the library, so each sees only its accessible premises:

- numpy: brute force plus filtering, the way ReProver ranks (score every
  premise, mask out the inaccessible ones, take the top k);
- faiss-flat: IndexFlatIP (float32) searched with an IDSelectorBitmap of
  the accessible premises (the filter is applied inside FAISS);
- faiss-exact: what PremiseIndex does for exact search: the float16 copies
  under the same selector, candidates re-scored in float32, exact by a proven
  bound (widened when the bound cannot decide; counted as "widenings");
- faiss-approx: the approximate index (HNSW for this size) with the same
  selector, falling back to the exact index where the filter is very
  selective (as PremiseIndex does).

Queries are answered one at a time, as during proof search, the methods
interleaved query by query so that load on the machine affects all alike;
each query is timed `--repeat` times and its median kept. Times include
building the accessibility mask (the same code for every method). Recall@k is
measured against the NumPy brute-force top k.

    python bench/retrieval_latency.py                      # stdlib stand-in corpus
    python bench/retrieval_latency.py --data TRACE_DIR     # a `proofsmith trace` output
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proofsmith.checker.coq.guard import THEOREM_KEYWORDS  # noqa: E402
from proofsmith.formats.leandojo import PARTS, STRATEGIES  # noqa: E402
from proofsmith.retrieval.benchmark import Benchmark, load_theorems  # noqa: E402
from proofsmith.retrieval.corpus import Corpus  # noqa: E402
from proofsmith.retrieval.embedding_cache import corpus_embeddings  # noqa: E402
from proofsmith.retrieval.encoder import TextEncoder  # noqa: E402
from proofsmith.retrieval.index import PremiseIndex  # noqa: E402
from proofsmith.retrieval.retriever import encoder_meta  # noqa: E402
from proofsmith.retrieval.settings import RetrievalSettings  # noqa: E402


def load_queries(data: Path, corpus: Corpus, n: int, seed: int) -> tuple[list[tuple[str, str, tuple]], str]:
    """(text, file, position) triples: traced goal states if the folder has splits, else statements."""
    rng = random.Random(seed)
    states = []
    for split in STRATEGIES:
        for subset in PARTS:
            path = data / split / f"{subset}.json"
            if path.is_file():
                for thm in load_theorems(path):
                    states += [(t.state_before, thm.file_path, thm.start) for t in thm.traced_tactics]
        if states:
            break
    if states:
        return rng.sample(states, min(n, len(states))), "goal states before traced tactics"
    theorems = [p for p in corpus.premises if p.kind in THEOREM_KEYWORDS] or corpus.premises
    picked = rng.sample(theorems, min(n, len(theorems)))
    return [(p.code, p.path, p.start) for p in picked], "theorem statements asked from the theorem's own place"


def numpy_top_k(vectors: np.ndarray, q: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    scores = vectors @ q
    scores[~mask] = -np.inf
    want = min(k, int(mask.sum()))
    top = np.argpartition(-scores, want - 1)[:want]
    return top[np.argsort(-scores[top], kind="stable")]


def recall(got: np.ndarray, ref: np.ndarray, scores: np.ndarray) -> float:
    """Share of the reference top k found; an id tied with the k-th reference score counts."""
    if len(ref) == 0:
        return 1.0
    kth = scores[ref[-1]]
    hits = sum(1 for i in got if i >= 0 and (i in set(ref.tolist()) or scores[i] >= kth - 1e-6))
    return min(hits, len(ref)) / len(ref)


def summary(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"mean_ms": float(a.mean()), "median_ms": float(np.median(a)), "p90_ms": float(np.percentile(a, 90))}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="benchmark/trace folder (default: stdlib stand-in)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="timings per query and method (median kept)")
    parser.add_argument("--encoder", default=None, help="encoder folder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()

    settings = RetrievalSettings()
    data = args.data
    if data is None:
        from standin_corpus import build

        data = ROOT / ".cache" / "standin-stdlib"
        if not (data / "corpus.jsonl").is_file():
            print("building the stdlib stand-in corpus (coqdep + lexical scan)...", flush=True)
            build(data)
        source = "stand-in corpus from the Coq stdlib sources (real import graph, scanned declarations)"
    else:
        source = f"{data}"
    corpus = Benchmark(data).corpus if (data / "corpus.jsonl").is_file() else Corpus.load(data)
    queries, query_kind = load_queries(data, corpus, args.queries, args.seed)

    encoder = TextEncoder(args.encoder, max_length=settings.max_length)
    vectors = corpus_embeddings(corpus, encoder, settings.cache_dir, settings.batch_size)
    t = time.perf_counter()
    qvec = encoder.encode([q[0] for q in queries], batch_size=settings.batch_size, progress="embedding queries")
    encode_ms = (time.perf_counter() - t) * 1e3 / len(queries)

    t = time.perf_counter()
    index = PremiseIndex.build(corpus, vectors, "auto", encoder_meta(encoder), settings)
    build_s = time.perf_counter() - t
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    k = args.k
    methods = ["numpy", "faiss-flat", "faiss-exact", "faiss-approx"]
    times = {m: [] for m in methods}
    recalls = {m: [] for m in methods}
    fractions, mask_ms = [], []
    from tqdm import tqdm

    for (_text, path, pos), q in tqdm(list(zip(queries, qvec)), desc="timing queries", unit="query"):
        per = {m: [] for m in methods}
        results = {}
        mask = corpus.accessible_mask(path, pos)  # for the fraction and reference below; the loop times its own
        for _ in range(args.repeat):
            for m in methods:
                t0 = time.perf_counter_ns()
                mask = corpus.accessible_mask(path, pos)
                t1 = time.perf_counter_ns()
                if m == "numpy":
                    results[m] = numpy_top_k(vectors, q, mask, k)
                else:
                    _, ids = index.search(
                        q[None], k, mask, approximate=(m == "faiss-approx"), two_stage=(m != "faiss-flat")
                    )
                    results[m] = ids[0]
                t2 = time.perf_counter_ns()
                per[m].append((t2 - t0) / 1e6)
                if m == "numpy":
                    mask_ms.append((t1 - t0) / 1e6)
        fractions.append(float(mask.mean()))
        ref_scores = vectors @ q
        ref_scores[~mask] = -np.inf
        for m in methods:
            times[m].append(float(np.median(per[m])))
            recalls[m].append(recall(results[m], results["numpy"], ref_scores))

    report = {
        "exact_widenings": index.widenings,
        "corpus": source,
        "premises": len(corpus),
        "files": len(corpus.files),
        "queries": len(queries),
        "query_kind": query_kind,
        "k": k,
        "accessible_fraction_mean": float(np.mean(fractions)),
        "accessible_fraction_median": float(np.median(fractions)),
        "approx_index": index.approx_kind,
        "approx_settings": {"hnsw_m": settings.hnsw_m, "ef_search": settings.hnsw_ef_search,
                            "exact_below_fraction": settings.approx_min_fraction},
        "index_build_s": build_s,
        "query_encode_ms": encode_ms,
        "mask_ms_mean": float(np.mean(mask_ms)),
        "methods": {m: {**summary(times[m]), f"recall@{k}": float(np.mean(recalls[m]))} for m in methods},
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version(),
                    "faiss_threads": __import__("faiss").omp_get_max_threads()},
        "encoder": encoder.name,
    }
    base = report["methods"]["numpy"]["mean_ms"]
    for m in methods:
        report["methods"][m]["speedup_vs_numpy"] = base / report["methods"][m]["mean_ms"]

    print()
    print(f"corpus: {source}")
    print(f"{len(corpus)} premises in {len(corpus.files)} files; {len(queries)} queries ({query_kind}); k={k}")
    print(f"accessible per query: mean {100 * report['accessible_fraction_mean']:.1f}% "
          f"(median {100 * report['accessible_fraction_median']:.1f}%) of the corpus")
    print(f"index build (exact + {index.approx_kind}): {build_s:.1f} s; query encoding: {encode_ms:.1f} ms/query "
          f"(not included below); accessibility mask: {report['mask_ms_mean']:.3f} ms/query (included)")
    print()
    print(f"| method | mean ms | median ms | p90 ms | speed-up vs NumPy | recall@{k} vs brute force |")
    print("|---|---:|---:|---:|---:|---:|")
    for m in methods:
        r = report["methods"][m]
        print(f"| {m} | {r['mean_ms']:.3f} | {r['median_ms']:.3f} | {r['p90_ms']:.3f} | "
              f"{r['speedup_vs_numpy']:.1f}x | {r[f'recall@{k}']:.4f} |")
    print(f"\nfaiss-exact: {index.widenings} of {len(queries) * args.repeat} searches widened the float16 stage")
    loss = 1 - report["methods"]["faiss-approx"][f"recall@{k}"]
    print(f"\napproximate index recall loss at k={k}: {100 * loss:.2f} points; "
          f"load average during the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
