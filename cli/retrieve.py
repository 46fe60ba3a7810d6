"""`proofsmith retrieve GOAL`: the premises an index ranks best for a goal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from proofsmith.cli.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("retrieve", help="rank the premises of an index for a goal")
    p.add_argument("goal", help="goal state text ('-' reads it from stdin)")
    p.add_argument("--index", type=Path, required=True, help="folder written by `proofsmith index build`")
    p.add_argument(
        "--theorem", default=None,
        help="only premises accessible to this corpus theorem (default: the whole corpus)",
    )
    p.add_argument("-k", type=int, default=10, help="premises to return")
    p.add_argument("--approximate", action="store_true", help="use the approximate index")
    p.add_argument("--encoder", default=None, help="encoder folder (default: the one the index records)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from proofsmith.retrieval.benchmark import Query
    from proofsmith.retrieval.errors import RetrievalInputError
    from proofsmith.retrieval.index import PremiseIndex
    from proofsmith.retrieval.retriever import DenseRetriever

    goal = sys.stdin.read() if args.goal == "-" else args.goal
    if not goal.strip():
        raise UsageError("GOAL is empty")
    if args.k < 1:
        raise UsageError(f"-k must be at least 1, got {args.k}")
    try:
        index = PremiseIndex.load(args.index)
    except RetrievalInputError as exc:
        raise UsageError(str(exc)) from None
    path = pos = None
    if args.theorem is not None:
        premise = index.corpus.by_name.get(args.theorem)
        if premise is None:
            raise UsageError(f"--theorem {args.theorem}: no such declaration in the index's corpus")
        path, pos = premise.path, premise.start
    try:
        retriever = DenseRetriever.for_index(index, args.encoder, approximate=args.approximate)
    except RetrievalInputError as exc:
        raise UsageError(str(exc)) from None
    hits = retriever.search([Query(goal, path, pos, args.theorem or "")], args.k)[0]
    for rank, hit in enumerate(hits, 1):
        p = hit.premise
        if args.json:
            print(json.dumps({"rank": rank, "score": round(hit.score, 6), "full_name": p.full_name,
                              "path": p.path, "start": list(p.start), "code": p.code}, ensure_ascii=False))
        else:
            code = " ".join(p.code.split())
            print(f"{rank:3d}  {hit.score:.4f}  {p.full_name}  ({p.path}:{p.start[0]})  {code[:100]}")
    return 0
