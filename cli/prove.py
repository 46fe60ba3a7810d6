"""`proofsmith prove "Theorem t : ..."`: search for a proof and print it, or say why there is none.

    proofsmith prove "Theorem t : forall n : nat, n + 0 = n." [--header TEXT | --header-file F]
    proofsmith prove --backend lean "theorem t (n : Nat) : n + 0 = n" --header "import Mathlib"
    proofsmith prove --backend fstar "val incr : x:int -> y:int{y > x}" --header "module Demo" --model PATH
        [--model PATH | --model-url URL --model NAME [--api-key-env VAR]]
        [--prover search|model-free-search|sample] [--retriever INDEX]
        [--budget-s S] [--expansions N] [--tactics K] [--tree PREFIX] [--json]

Without --model the model-free search runs; with --model, best-first search
with that model (or the prover --prover names). F* checks whole definitions,
so --backend fstar samples them (--prover sample, the default there). Exit
status 0 when proved, 1 when not, 2 on bad input, 3 when the checker is not installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from proofsmith.cli import load_path_options, shared_options, statement_input
from proofsmith.cli.errors import UsageError


def register(sub) -> None:
    from proofsmith.prover.registry import PROVERS, replays_reference

    p = sub.add_parser("prove", help="search for a proof of one statement and print it")
    p.add_argument("statement", help='the statement, e.g. "Theorem t : forall n : nat, n + 0 = n." (- reads stdin)')
    p.add_argument("--backend", default="coq",
                   help="coq (default), lean (needs lake and a REPL project) or fstar (needs fstar.exe; whole-definition sampling)")
    statement_input.add_header_arguments(p)
    p.add_argument("--prover", choices=[p for p in PROVERS if not replays_reference(p)], default=None,
                   help="default: search with --model, model-free-search without")
    shared_options.add_model(p, device=True)
    p.add_argument("--retriever", default=None, metavar="INDEX", help="premise index folder (proofsmith index build)")
    p.add_argument("--budget-s", type=float, default=60.0, help="wall-clock seconds (default 60)")
    p.add_argument("--expansions", type=int, default=None, help="at most N node expansions")
    p.add_argument("--tactics", type=int, default=8, help="tactics tried per expansion (default 8)")
    p.add_argument("--attempts", type=int, default=1, help="samples for --prover sample (default 1)")
    p.add_argument("--tactic-timeout-s", type=float, default=10.0)
    shared_options.add_threads(p)
    shared_options.add_seed(p)
    p.add_argument("--hammer", action="store_true",
                   help="CoqHammer joins every prover that takes it: sauto/hauto/qauto among the search's tactics, "
                        "and the `hammer` itself (its ATPs) in a portfolio run first on a share of the budget; the "
                        "tactic prelude then loads Hammer.Tactics")
    p.add_argument("--memory", default=None, metavar="TRACE",
                   help="a tactic memory: a trace folder (proofsmith trace) or a saved memory; the prover option "
                        "memory=TRACE (default prover then: memory-search, or search with --model)")
    shared_options.add_prover_options(p)
    p.add_argument("--tree", type=Path, default=None, metavar="PREFIX",
                   help="write the search tree to PREFIX.json, PREFIX.dot and PREFIX.png")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    load_path_options.add_arguments(p, what="the libraries the header requires (--backend coq)")
    p.set_defaults(func=run)


# Provers that run CoqHammer's `hammer` tactic themselves (through the portfolio) when given hammer=true;
# the others get a hammer portfolio in front of them, with this share of the budget.
HAMMER_RUNNERS = ("portfolio", "portfolio+search")
HAMMER_SHARE = 0.25


def _flag_of(exc, args) -> str:
    """The flag an option error came from, when it was a shortcut flag."""
    text = str(exc)
    for flag, option in (("--hammer", "hammer"), ("--memory", "memory")):
        if getattr(args, option) and f"option {option}" in text:
            return f"{flag}: "
    return "--prover-option: " if args.prover_option else ""


def run(args) -> int:
    from proofsmith.checker.registry import ensure_installed, open_checker
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.checker.statements import STATEMENT_BACKENDS
    from proofsmith.prover.base import Budget
    from proofsmith.prover.model_store import ModelNotFound
    from proofsmith.prover.registry import (
        ProverOptionError,
        check_prover,
        checker_settings,
        default_prover,
        make_prover,
        takes_model,
        unsuitable,
    )
    from proofsmith.prover.search import BestFirstSearchProver
    from proofsmith.prover.sequence import ProverSequence
    from proofsmith.prover.tree_drawing import save_tree

    if args.backend not in STATEMENT_BACKENDS:
        raise UsageError(f"--backend {args.backend}: proofsmith prove supports {', '.join(STATEMENT_BACKENDS)}")
    theorem, load_path = statement_input.theorem_from_args(args)
    for flag, value in (("--budget-s", args.budget_s), ("--tactics", args.tactics), ("--attempts", args.attempts)):
        if value <= 0:
            raise UsageError(f"{flag} must be positive, got {value:g}")
    prover_name = args.prover or ("memory-search" if args.memory and not args.model
                                  else default_prover(args.backend, args.model))
    reason = unsuitable(prover_name, args.backend)
    if reason is not None:
        raise UsageError(f"--prover {args.prover}: {reason}; use --prover sample")
    given = shared_options.prover_options(args)
    options: dict[str, Any] = {"retriever": args.retriever}
    if takes_model(prover_name):
        options.update(model=args.model, device=args.device, threads=args.threads)
        if "model_url" in given:
            options.update(device=None, threads=None)
    elif args.model is not None:
        raise UsageError(f"--model: the prover {prover_name} takes no model")
    options.update(given)
    if args.memory is not None:
        options["memory"] = args.memory
    if args.hammer:
        options["hammer"] = True
    hammer_first = args.hammer and prover_name not in HAMMER_RUNNERS
    try:
        check_prover(prover_name, options)
    except ProverOptionError as exc:
        raise UsageError(f"{_flag_of(exc, args)}{exc}") from None
    ensure_installed(args.backend)  # exit 3 with the install instructions before a model is loaded
    try:
        prover = make_prover(prover_name, **options)
        if hammer_first:  # the search's steps cannot run `hammer` itself (its ATPs): a portfolio does, first
            prover = ProverSequence([(make_prover("portfolio", hammer=True), HAMMER_SHARE), (prover, 1.0)])
    except (ProverOptionError, ModelNotFound) as exc:
        raise UsageError(str(exc)) from None
    budget = Budget(
        wall_s=args.budget_s,
        attempts=args.attempts,
        expansions=args.expansions,
        tactics_per_expansion=args.tactics,
        tactic_timeout_s=args.tactic_timeout_s,
        seed=args.seed,
    )
    try:
        checker = open_checker(args.backend, checker_settings(prover_name, options,
                                                              CheckerSettings().with_load_path(load_path)))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from proofsmith.prover.generators.openai_server import ServedModelError

    with checker:
        try:
            if isinstance(prover, BestFirstSearchProver) and budget.attempts == 1:
                outcome = prover.search(theorem, checker, budget)
                result, tree = outcome.result, outcome.tree
            else:
                result, tree = prover.prove(theorem, checker, budget), None
        except ServedModelError as exc:  # the model server went away or refused us mid-search
            raise UsageError(str(exc)) from None
    if result.verdict.value == "error" and not result.proved:
        raise UsageError(f"statement {theorem.name}: {result.reason}")
    written = save_tree(tree.to_json(), args.tree) if args.tree and tree is not None else []
    if args.json:
        print(json.dumps({
            "name": theorem.name, "verdict": result.verdict.value, "proof": result.proof if result.proved else None,
            "reason": result.reason, "time_s": round(result.time_s, 3), "timings": result.timings,
            "prover": prover.describe(), "extra": result.extra, "tree_files": [str(p) for p in written],
        }))
    elif result.proved:
        print(result.proof)
        print(f"(proved in {result.time_s:.1f} s by {prover_name}; checker verdict: proved)", file=sys.stderr)
    else:
        print(f"no proof: {result.verdict.value}: {result.reason}")
    for path in written:
        print(f"search tree: {path}", file=sys.stderr)
    return 0 if result.proved else 1
