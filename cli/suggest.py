"""`proofsmith suggest`: next steps for a proof, checked before they are shown, in the terminal.

    proofsmith suggest "Theorem t (n : nat) : n + 0 = n." [--header TEXT | --header-file F]
        [--backend coq|lean] [--model PATH | --no-model] [--retriever INDEX] [--memory TRACE_DIR] [--hammer]
    proofsmith suggest --file theories/Foo.v --line 42 [--project DIR | -Q DIR NAME | -R DIR NAME] [--json]

The screen shows the goals, then the suggestions numbered 1., 2., ...: the
tactic, the goals it leaves ("closes the goal" first), its score and its
source (automation, tactic memory, model, hammer). Every one was run by the
checker; those that fail, change nothing or come back to a state on the path
are not shown. Rows appear as they are checked: automation at once, the
model's when it has loaded and decoded. Then: a number takes that
suggestion, any other text is a tactic (checked; the checker's error is
shown when it fails), `u` undoes, `s` searches from here (best-first, with a
countdown), `p` lists the retrieved premises, `q` quits. When no goal is left
the whole proof is printed, `Proof.` to `Qed.`, checked as a whole, and the
program exits 0 (1 when quit before, 2 on bad input).

With --file/--line the proof that contains the line is opened where it
stands (its file replayed up to the statement) and its sentences up to the
line are run first. --json prints the suggestions for that state once, as
one JSON object, and exits: what an editor calls.

The logic is prover.suggestion (no terminal code); this module only draws.
"""

from __future__ import annotations

import atexit
import json
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

from proofsmith.cli import load_path_options, shared_options, statement_input
from proofsmith.cli.errors import UsageError

if TYPE_CHECKING:
    from proofsmith.prover.premises import PremiseRetriever

COMMANDS_HELP = "number: take it · tactic: run it · u: undo · s: search · p: premises · q: quit"


def register(sub) -> None:
    p = sub.add_parser("suggest", help="interactive next-step suggestions, each checked (terminal or --json)")
    p.add_argument("statement", nargs="?", default=None,
                   help='the statement, e.g. "Theorem t : forall n : nat, n + 0 = n." (- reads stdin)')
    p.add_argument("--backend", default="coq", help="coq (default) or lean (needs lake and a REPL project)")
    statement_input.add_header_arguments(p)
    p.add_argument("--file", type=Path, default=None, help="a .v file of a project: suggest inside its proof at --line")
    p.add_argument("--line", type=int, default=None, help="with --file: a line inside the proof (from 1)")
    models = p.add_mutually_exclusive_group()
    shared_options.add_model(p, served=False, group=models,
                             help="generator checkpoint folder or .gguf (default: the shipped SmolLM2, CTranslate2 on CPU)")
    models.add_argument("--no-model", action="store_true", help="automation (and memory, hammer) only: no model")
    p.add_argument("--model-k", type=int, default=None, help="tactics the model proposes (beam width, default 4)")
    p.add_argument("--retriever", default=None, metavar="INDEX", help="premise index folder (proofsmith index build)")
    p.add_argument("--memory", default=None, metavar="TRACE_DIR",
                   help="a tactic memory: a traced library (TRACE_DIR/random/train.json) or a saved memory folder")
    hammer = p.add_mutually_exclusive_group()
    hammer.add_argument("--hammer", action="store_true",
                        help="CoqHammer's sauto/hauto/qauto join the suggestions (the default where CoqHammer is "
                             "installed; with --hammer, its absence is an error)")
    hammer.add_argument("--no-hammer", action="store_true", help="no CoqHammer tactics, even where it is installed")
    p.add_argument("--no-learn", action="store_true",
                   help="with --file: do not learn from the project (its proofs as a tactic memory, its declarations "
                        "as premises)")
    p.add_argument("--show", type=int, default=10, help="suggestions shown (default 10)")
    p.add_argument("--tactic-timeout-s", type=float, default=3.0, help="time a candidate may take (default 3)")
    p.add_argument("--list-budget-s", type=float, default=15.0,
                   help="time for one list: slow candidates are retried with the full timeout while it lasts (default 15)")
    p.add_argument("--search-s", type=float, default=30.0, help="budget of `s`, the search from here (default 30)")
    shared_options.add_threads(p)
    p.add_argument("--json", action="store_true", help="print the suggestions once as JSON and exit")
    load_path_options.add_arguments(p, what="the libraries the header or file requires (--backend coq)",
                                    project_help="; with --file, the project the file belongs to")
    p.set_defaults(func=run)


# ------------------------------------------------------------------ set-up


def _learn(engine, project: Path, args) -> None:
    """The project's proofs as a tactic memory (after automation), its declarations as the premises
    unless --retriever names an index (cli.project_knowledge)."""
    from proofsmith.cli.project_knowledge import learn_project
    from proofsmith.data_synth.trace.libraries import LibraryError
    from proofsmith.prover import suggestion

    try:
        knowledge = learn_project(project, exclude=engine.theorem.name)
    except (LibraryError, UsageError) as exc:  # the suggestions still come, without what it would teach
        print(f"proofsmith suggest: not learning from {project}: {exc}", file=sys.stderr)
        return
    if knowledge.steps:
        engine.sources.insert(1, suggestion.project_memory_source(knowledge.memory))
    if args.retriever is None and knowledge.retriever is not None:
        engine.retriever = knowledge.retriever


def _sources(args):
    from proofsmith.prover import suggestion

    sources = [suggestion.automation_source()]
    if args.hammer:
        sources.append(suggestion.hammer_source())
    if args.memory is not None:
        if not Path(args.memory).is_dir():
            raise UsageError(f"--memory {args.memory}: no such folder")
        sources.append(suggestion.memory_source(args.memory))
    if not args.no_model:
        options = {"threads": args.threads} if args.threads else {}
        if args.model_k is not None:
            if args.model_k < 1:
                raise UsageError(f"--model-k must be at least 1, got {args.model_k}")
            options["k"] = args.model_k
        sources.append(suggestion.model_source(args.model, **options))
    return sources


def _file_place(args) -> tuple[str, str]:
    """(project, file inside it) for --file: --project, else -Q/-R (a project made of them), else the
    _CoqProject found from the file's folder up."""
    from proofsmith.checker.coq.file_context import STDLIB
    from proofsmith.formats.coq_load_path import find_project

    if args.project == STDLIB:
        return STDLIB, str(args.file)
    if args.coq_bindings:
        load_path = load_path_options.load_path_from(args, discover=False)
        folder = Path(tempfile.mkdtemp(prefix="proofsmith-suggest-"))
        atexit.register(shutil.rmtree, folder, True)
        (folder / "_CoqProject").write_text("\n".join(" ".join(b.args()) for b in load_path.bindings) + "\n")
        source = args.file.expanduser().resolve()
        if not source.is_file():
            raise UsageError(f"--file {args.file}: no such file")
        return str(folder), str(source)
    project = Path(args.project).expanduser() if args.project else find_project(
        (args.file if args.file.is_absolute() else Path.cwd() / args.file).parent)
    if project is None:
        raise UsageError(f"--file {args.file}: no _CoqProject in its folder or above; give --project DIR or -Q/-R")
    folder = project.parent if project.is_file() else project
    source = args.file.expanduser()
    if not source.is_absolute() and not source.exists() and (folder / source).exists():
        source = folder / source  # named inside the project
    if not source.is_file():
        raise UsageError(f"--file {args.file}: no such file")
    try:
        inside = source.resolve().relative_to(folder.resolve())
    except ValueError:
        raise UsageError(f"--file {args.file}: not inside the project {folder}") from None
    return str(folder), str(inside)


@contextmanager
def _session(backend: str, settings):
    """One live session: for Coq a CoqSession of its own (no pool to start), otherwise a lease from the checker."""
    if backend == "coq":
        from proofsmith.checker.coq.session import CoqSession

        with CoqSession(settings) as session:
            yield session
        return
    from proofsmith.checker.registry import open_checker

    with open_checker(backend, settings) as checker, checker.session() as session:
        yield session


def run(args) -> int:
    try:
        return _run(args)
    except UsageError as exc:
        if args.json:  # an editor reads stdout: the error comes as JSON there too (and on stderr, exit 2)
            print(json.dumps({"error": str(exc)}))
        raise


def _run(args) -> int:
    from proofsmith.checker.registry import ensure_installed
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.checker.statements import STATEMENT_BACKENDS
    from proofsmith.prover.registry import ProverOptionError, load_retriever
    from proofsmith.prover.suggestion import SuggestionEngine

    if args.backend not in ("coq", "lean") or args.backend not in STATEMENT_BACKENDS:
        raise UsageError(f"--backend {args.backend}: proofsmith suggest supports coq and lean")
    if args.show < 1 or args.tactic_timeout_s <= 0 or args.search_s <= 0 or args.list_budget_s <= 0:
        raise UsageError("--show, --tactic-timeout-s, --list-budget-s and --search-s must be positive")
    located = None
    learn_from = None
    file_text = ""
    if args.file is not None:
        if args.statement is not None:
            raise UsageError("give a statement or --file/--line, not both")
        if args.line is None:
            raise UsageError("--file needs --line N (a line inside the proof)")
        if args.backend != "coq":
            raise UsageError("--file/--line takes a Coq file (--backend coq)")
        from proofsmith.checker.coq.file_context import STDLIB, ContextError
        from proofsmith.checker.coq.proof_at_line import proof_at_line

        project, inside = _file_place(args)
        user_project = project
        if project != STDLIB and not args.coq_bindings:  # what the file requires, built when the project lacks it
            args.project = project
            project = str(load_path_options.prepare_project(args, [inside]))
        try:
            located = proof_at_line(project, inside, args.line)
        except ContextError as exc:
            raise UsageError(str(exc)) from None
        theorem = located.theorem
        file_text = (Path(project) / inside).read_text(encoding="utf-8", errors="replace")
        settings = CheckerSettings(workers=1)
        learn_from = Path(user_project) if not args.no_learn and user_project != STDLIB and not args.coq_bindings \
            else None
    else:
        if args.line is not None:
            raise UsageError("--line goes with --file")
        if args.statement is None:
            raise UsageError('give a statement, e.g. "Theorem t (n : nat) : n + 0 = n.", or --file F --line N')
        theorem, load_path = statement_input.theorem_from_args(args)
        settings = CheckerSettings(workers=1).with_load_path(load_path)
    if args.hammer and args.backend != "coq":
        raise UsageError("--hammer is CoqHammer: --backend coq")
    if args.backend == "coq" and not args.no_hammer:
        from proofsmith.checker.coq.hammer import missing_reason

        reason = missing_reason()
        if reason is None and located is not None and "Hammer" not in file_text:
            # a file is replayed without the tactic prelude: its own Require must load the tactics
            reason = "a file is replayed as it is: CoqHammer's tactics need it to load them " \
                     "(From Hammer Require Import Tactics.)"
        if reason is not None and args.hammer:
            raise UsageError(f"--hammer: {reason}")
        args.hammer = reason is None  # a source wherever CoqHammer is installed (and loaded)
        if args.hammer:
            settings = settings.with_hammer()
    ensure_installed(args.backend)
    retriever = None
    if args.retriever is not None:
        try:
            # a DenseRetriever's hits have the name, statement and score the protocol reads
            retriever = cast("PremiseRetriever", load_retriever(args.retriever))
        except ProverOptionError as exc:
            raise UsageError(str(exc)) from None
    sources = _sources(args)
    with _session(args.backend, settings) as session:
        try:
            # on the screen, the model starts loading once the first suggestions are shown (its
            # imports would slow them down); --json waits for it anyway
            engine = SuggestionEngine(session, theorem, sources, retriever=retriever,
                                      tactic_timeout_s=args.tactic_timeout_s, list_budget_s=args.list_budget_s,
                                      preload=args.json)
        except ValueError as exc:
            raise UsageError(_first_line_cleanup(str(exc))) from None
        if located is not None:
            for sentence in located.done:
                step = engine.run_tactic(sentence.text, source="file")
                if not step.ok:
                    where = f"{inside}, line {sentence.line}"
                    raise UsageError(f"{where}: {sentence.text!r} fails: {step.message}")
        if learn_from is not None:  # once the file replays: what the project teaches joins the sources
            _learn(engine, learn_from, args)
        if args.json:
            return _print_json(engine, located, args)
        return _interactive(engine, located, args)


def _first_line_cleanup(message: str) -> str:
    return " ".join(message.split())


# ------------------------------------------------------------------ --json


def _print_json(engine, located, args) -> int:
    started = time.perf_counter()
    suggestions = engine.suggest(limit=args.show)
    record = {
        "theorem": engine.theorem.name,
        "statement": engine.theorem.statement,
        "file": located.theorem.place.file if located else None,
        "line": args.line if located else None,
        "proof_so_far": engine.tactics,
        "finished": engine.finished,
        "goals": [g.pretty() for g in engine.state.goals],
        "goals_text": engine.state.text,
        "suggestions": [s.to_json(rank) for rank, s in enumerate(suggestions, 1)],
        "time_s": round(time.perf_counter() - started, 3),
        "first_suggestion_s": None if engine.timing.first_s is None else round(engine.timing.first_s, 3),
        "sources_skipped": engine.timing.skipped_sources,
    }
    print(json.dumps(record))
    return 0


# ------------------------------------------------------------------ the terminal program


def _goal_lines(state, before=None) -> str:
    """What a suggestion leaves, on one line: each goal's new hypotheses and its conclusion."""
    known = {h.pretty() for h in before.goals[0].hypotheses} if before is not None and before.goals else set()
    parts = []
    for goal in state.goals[:3]:
        new = [h.pretty() for h in goal.hypotheses if h.pretty() not in known]
        hyps = ("; ".join(new) + " ") if new else ""
        parts.append(f"{hyps}⊢ {' '.join(goal.target.split())}")
    if len(state.goals) > 3:
        parts.append(f"… {len(state.goals) - 3} more")
    if not state.goals:
        return f"no goal in focus ({state.pending} pending)"
    return "  |  ".join(parts)


class _Board:
    """The suggestions so far and a status line; rich redraws it (its __rich__) while they are checked."""

    def __init__(self, engine, show: int):
        self.engine = engine
        self.show = show
        self.ranked = []
        self.started = time.perf_counter()
        self.done = False

    def __rich__(self):
        from rich.console import Group
        from rich.text import Text

        table = _table(self.ranked[: self.show], self.engine.state)
        elapsed = time.perf_counter() - self.started
        if self.done:
            more = len(self.ranked) - self.show
            status = f"{len(self.ranked)} suggestion(s) in {elapsed:.1f} s" + (
                f" ({more} more not shown: --show)" if more > 0 else "")
            skipped = self.engine.timing.skipped_sources
            if skipped:
                status += "; not asked: " + ", ".join(skipped)
                if any("still loading" in s for s in skipped):
                    status += " (press Enter to add its suggestions)"
            if self.engine.timing.timed_out:
                status += f"; {len(self.engine.timing.timed_out)} slow candidate(s) not tried (--list-budget-s)"
            return Group(table, Text(status, style="dim"))
        waiting = [s.label + (" loading" if not s.ready else " decoding") for s in self.engine.sources if s.costly]
        status = f"checking candidates… {elapsed:.1f} s" + (f" ({', '.join(waiting)})" if waiting else "")
        return Group(table, Text(status, style="dim"))


def _table(suggestions, before):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    table.add_column("#", justify="left", no_wrap=True)
    table.add_column("tactic", overflow="fold")
    table.add_column("leaves", overflow="fold")
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("source", no_wrap=True)
    for number, s in enumerate(suggestions, 1):
        if s.finished:
            leaves = Text("closes the goal (proof complete)", style="bold green")
        elif s.closes_goal:
            leaves = Text(f"closes the goal ({len(s.state.goals)} left)", style="green")
        else:
            leaves = Text(_goal_lines(s.state, before))
        table.add_row(f"{number}.", Text(s.tactic, style="bold"), leaves, f"{s.score:.2f}", s.source)
    return table


def _show_goals(console, engine) -> None:
    from rich.panel import Panel
    from rich.text import Text

    state = engine.state
    count = len(state.goals)
    title = f"{engine.theorem.name}: {count} goal{'s' if count != 1 else ''}" + (
        f" (+{state.pending} unfocused)" if state.pending else "")
    body = state.text if state.goals else f"no goal in focus: {state.pending} pending (type a bullet or }})"
    steps = len(engine.tactics)
    console.print(Panel(Text(body), title=Text(title), title_align="left",
                        subtitle=Text(f"step {steps}"), subtitle_align="right"))


def _suggestions(console, engine, show: int):
    from rich.live import Live

    board = _Board(engine, show)

    def on_suggestion(_new, ranked):
        board.ranked = ranked
        live.refresh()

    with Live(board, console=console, refresh_per_second=8, transient=False) as live:
        suggestions = engine.suggest(on_suggestion=on_suggestion, wait=False)
        board.ranked = suggestions
        board.done = True
        live.refresh()
    return suggestions[:show]


def _search(console, engine, budget_s: float) -> None:
    from rich.live import Live
    from rich.text import Text

    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("result", engine.search(budget_s)), daemon=True)
    started = time.perf_counter()
    thread.start()

    class Countdown:
        def __rich__(self):
            left = max(budget_s - (time.perf_counter() - started), 0.0)
            return Text(f"searching from here (best-first)… {left:4.1f} s left", style="yellow")

    with Live(Countdown(), console=console, refresh_per_second=10, transient=True):
        while thread.is_alive():
            thread.join(0.1)
    result = outcome.get("result")
    if result is None:
        console.print(Text("search failed", style="red"))
    elif result.tactics is None:
        console.print(Text(f"search found no proof in {result.time_s:.1f} s: {result.reason}", style="red"))
    else:
        console.print(Text(f"search found {len(result.tactics)} step(s) in {result.time_s:.1f} s: "
                           + " ".join(result.tactics), style="green"))


def _premises(console, engine) -> None:
    from rich.table import Table
    from rich.text import Text

    if engine.retriever is None:
        console.print(Text("no premises: start with --retriever INDEX (an index from `proofsmith index build`)",
                           style="yellow"))
        return
    premises = engine.premises()
    if not premises:
        console.print(Text("the retriever found no premise for these goals", style="yellow"))
        return
    table = Table(title="retrieved premises", title_justify="left")
    table.add_column("#")
    table.add_column("name", no_wrap=True)
    table.add_column("statement", overflow="fold")
    table.add_column("score", justify="right")
    for number, p in enumerate(premises, 1):
        table.add_row(f"{number}.", Text(p.name), Text(" ".join(p.statement.split())), f"{p.score:.3f}")
    console.print(table)


def _finish(console, engine, located) -> int:
    from rich.text import Text

    script = engine.proof_script()
    if located is not None and located.opener != "Proof.":
        script = script.replace("Proof.", located.opener, 1)
    console.print(Text("No goals left. The proof:", style="bold green"))
    console.file.flush()
    sys.stdout.write(script + "\n")
    sys.stdout.flush()
    result = engine.check()
    if result.proved:
        console.print(Text("(checked as a whole: proved" + (f"; axioms: {', '.join(result.axioms)}"
                                                             if result.axioms else "") + ")", style="dim"))
        return 0
    console.print(Text(f"the checker does not accept the proof as a whole: {result.verdict.value}: {result.reason}",
                       style="red"))
    return 1


def _interactive(engine, located, args) -> int:
    from rich.console import Console
    from rich.text import Text

    from proofsmith.prover.suggestion import SuggestionError

    console = Console(highlight=False)
    where = f" ({located.theorem.place.file}, line {args.line})" if located else ""
    console.print(Text(f"{' '.join(engine.theorem.statement.split())}{where}", style="bold"))
    if located is not None and located.done:
        console.print(Text(f"ran {len(located.done)} sentence(s) of the proof up to line {args.line}", style="dim"))
    fresh = True
    suggestions = []
    while True:
        if engine.finished:
            return _finish(console, engine, located)
        if fresh:
            _show_goals(console, engine)
            suggestions = _suggestions(console, engine, args.show)
            fresh = False
        try:
            answer = console.input(Text(f"[{COMMANDS_HELP}] > ", style="cyan")).strip()
        except EOFError:
            answer = "q"
        if not answer:
            if engine.timing.skipped_sources:  # a model was still loading: ask again, with it if ready
                suggestions = _suggestions(console, engine, args.show)
            continue
        if answer == "q":
            console.print(Text("quit; the proof so far:", style="yellow"))
            sys.stdout.write(engine.proof_script().replace("Qed.", "(* unfinished *)") + "\n")
            return 1
        if answer == "u":
            try:
                step = engine.undo()
            except SuggestionError as exc:
                console.print(Text(str(exc), style="yellow"))
                continue
            console.print(Text(f"undone: {step.tactic}", style="yellow"))
            fresh = True
        elif answer == "s":
            _search(console, engine, args.search_s)
            fresh = True
        elif answer == "p":
            _premises(console, engine)
        elif answer.isdigit():
            number = int(answer)
            if not 1 <= number <= len(suggestions):
                console.print(Text(f"no suggestion {number}: pick 1 to {len(suggestions)}" if suggestions
                                   else "no suggestion to pick: type a tactic", style="yellow"))
                continue
            chosen = suggestions[number - 1]
            engine.apply(chosen)
            console.print(Text(f"{number}. {chosen.tactic}", style="green"))
            fresh = True
        else:
            step = engine.run_tactic(answer)
            if not step.ok:
                console.print(Text("error: ", style="bold red") + Text(step.message, style="red"))
                continue
            note = " (the goals did not change)" if step.unchanged else ""
            console.print(Text(f"ran {engine.tactics[-1]}{note}", style="green"))
            fresh = True
