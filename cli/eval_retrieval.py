"""`proofsmith eval-retrieval`: R@1, R@10 and MRR of BM25 and encoders on benchmark splits."""

from __future__ import annotations

import json
from pathlib import Path

from proofsmith.cli.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("eval-retrieval", help="premise retrieval metrics table")
    p.add_argument("data", type=Path, help="benchmark folder (corpus.jsonl + split folders)")
    p.add_argument("--splits", nargs="+", default=["random", "novel_premises"])
    p.add_argument("--subsets", nargs="+", default=["val", "test"])
    p.add_argument(
        "--encoder", action="append", default=[], metavar="NAME=PATH",
        help="an encoder to evaluate (repeatable), e.g. trained=runs/retriever/model",
    )
    p.add_argument("--no-bm25", action="store_true", help="leave out the BM25 baseline")
    p.add_argument("--no-untrained", action="store_true", help="leave out the untrained all-MiniLM-L6-v2")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for retrieval.md, retrieval.json and the resumable retrieval.jsonl")
    p.set_defaults(func=run)


def run(args) -> int:
    from proofsmith.formats.leandojo import PARTS, STRATEGIES
    from proofsmith.retrieval.benchmark import Benchmark
    from proofsmith.retrieval.bm25 import BM25Retriever
    from proofsmith.retrieval.encoder import TextEncoder
    from proofsmith.retrieval.errors import RetrievalInputError
    from proofsmith.retrieval.evaluation import evaluation_table, markdown_table
    from proofsmith.retrieval.retriever import DenseRetriever
    from proofsmith.retrieval.settings import RetrievalSettings

    for s in args.splits:
        if s not in STRATEGIES:
            raise UsageError(f"--splits {s}: expected one of {', '.join(STRATEGIES)}")
    for s in args.subsets:
        if s not in PARTS:
            raise UsageError(f"--subsets {s}: expected one of {', '.join(PARTS)}")
    encoders: dict[str, str | None] = {}
    if not args.no_untrained:
        encoders["minilm-untrained"] = None
    for spec in args.encoder:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--encoder {spec}: expected NAME=PATH")
        if not Path(path).is_dir():
            raise UsageError(f"--encoder {spec}: {path} is not a folder")
        encoders[name] = path
    settings = RetrievalSettings()
    try:
        bench = Benchmark(args.data)
        retrievers = {}
        if not args.no_bm25:
            retrievers["bm25"] = lambda: BM25Retriever(bench.corpus)
        for name, path in encoders.items():
            retrievers[name] = lambda path=path: DenseRetriever.over(
                bench.corpus, TextEncoder(path, max_length=settings.max_length), settings
            )
        if not retrievers:
            raise UsageError("nothing to evaluate: every retriever was left out")
        rows = evaluation_table(
            bench, retrievers, args.splits, args.subsets,
            results_path=args.out / "proofsmith.retrieval.jsonl" if args.out else None,
        )
    except RetrievalInputError as exc:
        raise UsageError(str(exc)) from None
    table = markdown_table(rows)
    print(table)
    if args.out:
        (args.out / "proofsmith.retrieval.md").write_text(table + "\n")
        (args.out / "proofsmith.retrieval.json").write_text(json.dumps(rows, indent=1) + "\n")
    return 0
