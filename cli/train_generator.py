"""`proofsmith train generator DATA --out DIR`: supervised fine-tuning of the tactic generator.

Registered as a target of `proofsmith train` (cli/train.py). Reruns of
the same command resume from the last checkpoint in DIR; the model lands in
DIR/final, ready for `--model DIR/final`.
"""

from __future__ import annotations

from pathlib import Path

from proofsmith.cli import shared_options
from proofsmith.cli.errors import UsageError


def register_target(targets) -> None:
    g = targets.add_parser("generator", help="supervised fine-tuning of the tactic generator on traced proofs")
    g.add_argument("data", type=Path, help="LeanDojo Benchmark 4 folder ({random,novel_premises}/train.json)")
    g.add_argument("--out", type=Path, required=True, help="run folder (reruns resume; model in OUT/final)")
    shared_options.add_model(g, help="starting checkpoint (default: SmolLM2-135M-Instruct)", served=False, device=True)
    g.add_argument("--split", default="random", choices=("random", "novel_premises"))
    g.add_argument("--retriever", default=None, metavar="INDEX",
                   help="premise index folder: retrieved premises go into the prompts (as at inference)")
    g.add_argument("--proof-retrieval", action="store_true",
                   help="the most similar traced proofs of other theorems go into the prompts (as search's "
                        "proof_retrieval=true shows them at inference)")
    g.add_argument("--proofs-k", type=int, default=2, help="similar proofs per prompt with --proof-retrieval")
    g.add_argument("--epochs", type=float, default=3.0)
    g.add_argument("--max-steps", type=int, default=-1, help="stop after N optimizer steps (overrides --epochs)")
    g.add_argument("--lr", type=float, default=1e-4)
    g.add_argument("--batch-size", type=int, default=8)
    g.add_argument("--grad-accum", type=int, default=1)
    g.add_argument("--max-prompt-tokens", type=int, default=512)
    g.add_argument("--max-length", type=int, default=768)
    g.add_argument("--train-layers", type=int, default=None, help="train only the top N blocks (faster on CPU)")
    g.add_argument("--files", default=None, metavar="REGEX", help="only theorems whose file_path matches")
    g.add_argument("--max-state-chars", type=int, default=None, help="skip goals longer than this")
    g.add_argument("--max-examples", type=int, default=None, help="train on a seeded random subset of this size")
    g.add_argument("--no-whole-proofs", action="store_true", help="tactic examples only (no pass@k examples)")
    g.add_argument("--save-steps", type=int, default=200)
    shared_options.add_threads(g, help="torch CPU threads (1 helps on a busy machine)")
    shared_options.add_seed(g)
    g.set_defaults(func=run_generator)


def run_generator(args) -> int:
    from proofsmith.prover.model_store import ModelNotFound
    from proofsmith.prover.registry import ProverOptionError, load_retriever
    from proofsmith.prover.sft import SFTConfig, TrainingDataError, train_generator

    for flag, value in (("--batch-size", args.batch_size), ("--save-steps", args.save_steps), ("--lr", args.lr)):
        if value <= 0:
            raise UsageError(f"{flag} must be positive, got {value:g}")
    config = SFTConfig(
        data=str(args.data),
        out=str(args.out),
        model=args.model,
        split=args.split,
        epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        gradient_accumulation=args.grad_accum,
        max_prompt_tokens=args.max_prompt_tokens,
        max_length=args.max_length,
        whole_proofs=not args.no_whole_proofs,
        save_steps=args.save_steps,
        seed=args.seed,
        device=args.device,
        train_layers=args.train_layers,
        threads=args.threads,
        files=args.files,
        max_state_chars=args.max_state_chars,
        max_examples=args.max_examples,
        proof_retrieval=args.proof_retrieval,
        proofs_k=args.proofs_k,
    )
    try:
        retriever = load_retriever(args.retriever) if args.retriever else None
        figures = train_generator(config, retriever)
    except (TrainingDataError, ModelNotFound, ProverOptionError) as exc:
        raise UsageError(str(exc)) from None
    before = figures.get("val_loss_before")
    after = figures.get("val_loss_after")
    val = f"; val loss {before:.3f} -> {after:.3f}" if before is not None and after is not None else ""
    print(
        f"trained {figures['steps']} steps on {figures['train_examples']} examples "
        f"(train loss {figures['train_loss']:.3f}{val}); model in {figures['model']}"
    )
    return 0
