"""`proofsmith iterate --config iterate.toml --out runs/NAME [--ray [ADDR]] [--final] [--dry-run]`: expert
iteration with self-play conjecturing (the iterate package). Rerunning the same command resumes a killed run."""

from __future__ import annotations

from pathlib import Path

from proofsmith.cli.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("iterate", help="rounds of prove -> conjecture -> select -> fine-tune -> held-out eval (STP)")
    p.add_argument("--config", type=Path, required=True, help="TOML config (examples/iterate-cpu.toml)")
    p.add_argument("--out", type=Path, required=True, help="run folder runs/NAME (a rerun resumes)")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDR",
                   help="prove through Ray: alone a local Ray instance, with ADDR the cluster there")
    p.add_argument("--final", action="store_true", help="after the last round, also evaluate on the test splits")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--dry-run", action="store_true",
                   help="check the config and its inputs, print the plan (pools, stages, minutes a round), run nothing")
    p.set_defaults(func=run)


def run(args) -> int:
    from proofsmith.eval.ray_cluster import RayClusterError
    from proofsmith.formats.run_records import ResultsFileError
    from proofsmith.iterate.config import IterateConfigError, check_inputs, load_config
    from proofsmith.iterate.run import IterateError, run_iteration
    from proofsmith.prover.fine_tuning import TrainingDataError
    from proofsmith.prover.generators.openai_server import ServedModelError

    try:
        config = load_config(args.config)
        if args.dry_run:
            from proofsmith.iterate.plan import plan_lines

            check_inputs(config, str(args.config))
            print("\n".join(plan_lines(config, args.out)))
            return 0
        metrics = run_iteration(config, args.out, ray=args.ray, final=args.final, progress=not args.no_progress,
                                where=str(args.config))
    except (IterateConfigError, IterateError, RayClusterError, ResultsFileError, TrainingDataError) as exc:
        raise UsageError(str(exc)) from None
    except ServedModelError as exc:  # the conjecturer's server went away or refused us mid-run; a rerun resumes
        raise UsageError(f"conjecturer.model_url: {exc}") from None
    for m in metrics:
        held = ", ".join(f"{k} {v.proved}/{v.usable}" for k, v in m.heldout.items())
        print(f"round {m.round}: proved {m.proved}/{m.attempted} (cumulative {m.cumulative_proved}/"
              f"{m.cumulative_attempted}), kept conjectures {m.funnel.get('kept', 0)}, held-out {held}")
    print(f"report: {Path(args.out) / 'report.html'}")
    return 0
