"""`proofsmith index build`: embed a premise corpus and save its FAISS indexes."""

from __future__ import annotations

from pathlib import Path

from proofsmith.cli.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("index", help="premise indexes for retrieval")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="embed a corpus and save exact + approximate indexes")
    build.add_argument("data", type=Path, help="benchmark folder or corpus.jsonl (LeanDojo schema)")
    build.add_argument("--out", type=Path, required=True, help="index folder to write")
    build.add_argument("--encoder", default=None, help="transformers model folder (default: all-MiniLM-L6-v2)")
    build.add_argument(
        "--approx", default="auto", choices=("auto", "hnsw", "ivf", "none"),
        help="approximate index (auto: HNSW, IVF for very large corpora)",
    )
    build.add_argument("--batch-size", type=int, default=None, help="texts per encoder batch")
    build.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    build.set_defaults(func=run_build)


def run_build(args) -> int:
    from proofsmith.retrieval.corpus import Corpus
    from proofsmith.retrieval.encoder import TextEncoder
    from proofsmith.retrieval.errors import RetrievalInputError
    from proofsmith.retrieval.retriever import DenseRetriever
    from proofsmith.retrieval.settings import RetrievalSettings

    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    settings = RetrievalSettings(**({"batch_size": args.batch_size} if args.batch_size else {}))
    try:
        corpus = Corpus.load(args.data)
        encoder = TextEncoder(args.encoder, max_length=settings.max_length)
        retriever = DenseRetriever.over(corpus, encoder, settings, args.approx, cache=not args.no_cache)
        out = retriever.index.save(args.out)
    except RetrievalInputError as exc:
        raise UsageError(str(exc)) from None
    meta = retriever.index.meta
    print(
        f"indexed {meta['premises']} premises from {len(corpus.files)} files "
        f"({meta['dim']}-d, {encoder.name}; exact + {meta['approx']}) into {out}"
    )
    return 0
