"""R@1 / R@10 / MRR tables for several retrievers over benchmark splits.

Rows are appended to a JSON Lines file as each (retriever, split, subset)
finishes; a rerun skips rows already there, so an interrupted evaluation
resumes. Retrievers are built lazily, only if one of their rows is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from proofsmith.formats.json_files import InputFileError, JsonlAppender, get_field, read_jsonl
from proofsmith.retrieval.benchmark import Benchmark, Query
from proofsmith.retrieval.errors import RetrievalInputError
from proofsmith.retrieval.metrics import RetrievalMetrics, score_rankings
from proofsmith.retrieval.retriever import Retriever

# MRR is computed over this many retrieved premises per query (ReProver: 100).
RANKING_DEPTH = 100


def evaluate_retriever(
    retriever: Retriever, queries: Sequence[Query], depth: int = RANKING_DEPTH, progress: str | None = None
) -> RetrievalMetrics:
    scored = [q for q in queries if q.positives]  # the others do not count (ReProver)
    hits = retriever.search(scored, depth, progress=progress)
    metrics = score_rankings([[h.premise.id for h in row] for row in hits], [q.positives for q in scored])
    return replace(metrics, skipped=len(queries) - len(scored))


def evaluation_table(
    benchmark: Benchmark,
    retrievers: dict[str, Callable[[], Retriever]],
    splits: Sequence[str],
    subsets: Sequence[str],
    results_path: str | Path | None = None,
    progress: bool = True,
) -> list[dict]:
    """One row per retriever, split and subset; earlier rows in ``results_path`` are reused."""
    path = Path(results_path) if results_path else None
    done = finished_rows(path, benchmark.corpus.content_hash) if path is not None else {}
    rows = []
    for name, make in retrievers.items():
        retriever = None
        for split in splits:
            for subset in subsets:
                key = (name, split, subset)
                if key in done:
                    rows.append(done[key])
                    continue
                if retriever is None:
                    retriever = make()
                queries = benchmark.queries(split, subset)
                metrics = evaluate_retriever(
                    retriever, queries, progress=f"{name} {split}/{subset}" if progress else None
                )
                row = {
                    "retriever": name,
                    "split": split,
                    "subset": subset,
                    **metrics.to_dict(),
                    "benchmark": str(benchmark.root),
                    "corpus_hash": benchmark.corpus.content_hash,
                }
                rows.append(row)
                if path is not None:
                    with JsonlAppender(path) as out:
                        out.append(row)
    return rows


def finished_rows(path: Path, corpus_hash: str) -> dict[tuple[str, str, str], dict]:
    """The rows an earlier run appended to `path` for this corpus, by (retriever, split, subset)."""
    done = {}
    try:
        for line, row in read_jsonl(path, missing_ok=True, appended=True):
            key = tuple(get_field(row, k, str, path, line) for k in ("retriever", "split", "subset"))
            if row.get("corpus_hash") == corpus_hash:
                done[key] = row
    except InputFileError as exc:
        raise RetrievalInputError(str(exc)) from None
    return done


def markdown_table(rows: Sequence[dict]) -> str:
    lines = [
        "| retriever | split | subset | R@1 | R@10 | MRR | queries |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['retriever']} | {r['split']} | {r['subset']} | {r['r1']:.1f} | {r['r10']:.1f} "
            f"| {r['mrr']:.3f} | {r['queries']} |"
        )
    return "\n".join(lines)
