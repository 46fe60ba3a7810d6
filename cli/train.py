"""`proofsmith train TARGET`: fine-tune a model. Targets: `retriever`, `generator`.

Each target is a sub-subcommand registered here; training code itself lives
in the package that owns the model (retrieval/ for the premise encoder).
"""

from __future__ import annotations

from pathlib import Path

from proofsmith.cli import shared_options
from proofsmith.cli.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a model")
    targets = p.add_subparsers(dest="target", required=True, metavar="TARGET")
    r = targets.add_parser(
        "retriever", help="contrastive fine-tuning of the premise encoder on traced proofs"
    )
    r.add_argument("data", type=Path, help="benchmark folder (corpus.jsonl + split folders)")
    r.add_argument("--out", type=Path, required=True, help="run folder (reruns resume; model in OUT/model)")
    r.add_argument("--split", default="random", help="random or novel_premises (its train.json is used)")
    r.add_argument("--encoder", default=None, help="starting encoder folder (default: all-MiniLM-L6-v2)")
    r.add_argument("--batch-size", type=int, default=8)
    r.add_argument("--negatives", type=int, default=3, help="sampled negatives per example")
    r.add_argument("--in-file-negatives", type=int, default=1, help="of which from the positive's file")
    r.add_argument("--lr", type=float, default=2e-5)
    r.add_argument("--epochs", type=int, default=1)
    r.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    r.add_argument("--max-length", type=int, default=128, help="tokens per text")
    r.add_argument("--temperature", type=float, default=0.05)
    r.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints")
    shared_options.add_seed(r)
    r.set_defaults(func=run_retriever)
    from proofsmith.cli.train_generator import register_target

    register_target(targets)


def run_retriever(args) -> int:
    from proofsmith.retrieval.benchmark import Benchmark
    from proofsmith.retrieval.errors import RetrievalInputError
    from proofsmith.retrieval.training import TrainConfig, train_retriever

    if args.checkpoint_every < 1:
        raise UsageError(f"--checkpoint-every must be at least 1, got {args.checkpoint_every}")
    config = TrainConfig(
        batch_size=args.batch_size,
        num_negatives=args.negatives,
        num_in_file_negatives=args.in_file_negatives,
        lr=args.lr,
        epochs=args.epochs,
        max_steps=args.max_steps,
        max_length=args.max_length,
        temperature=args.temperature,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
    )
    try:
        bench = Benchmark(args.data)
        queries = bench.queries(args.split, "train")
        result = train_retriever(bench.corpus, queries, args.out, args.encoder, config)
    except RetrievalInputError as exc:
        raise UsageError(str(exc)) from None
    from proofsmith.eval.training_curve import save_loss_curve

    first = result.losses[0] if result.losses else float("nan")
    last = result.losses[-1] if result.losses else float("nan")
    curve = ""
    if result.losses:
        path = save_loss_curve(result.losses, args.out / "loss_curve.png", f"retriever training ({args.split} split)")
        curve = f"; loss curve {path}"
    print(
        f"trained {result.steps} steps (resumed at {result.resumed_from}); "
        f"loss {first:.3f} -> {last:.3f}; encoder in {result.model_dir}{curve}"
    )
    return 0
