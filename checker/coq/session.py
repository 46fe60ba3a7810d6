"""A Coq proof session over coqidetop: the interactive API and guarded whole-proof checks.

The tactic prelude and the theorem's header are loaded once; every check and
every `open` starts from that state (`Edit_at`), so imports are paid once per
header per process and nothing a proof declares survives into the next one.

A theorem with a `place` (checker.types.Place) is proved where it stands
instead: the process is started as its file's own module, the file's
sentences up to the statement are replayed (trusted: they are the library),
and the file's own statement is added; no tactic prelude goes before a file,
so the proof sees exactly what the theorem's author saw (plus, where the
place names them, the modules of `Place.loads`, Required by the session
right after the statement and before any tactic: decision procedures an
eval run found sound to load there; the statement itself is elaborated
before them, as in the strict context). One process per file:
moving to another theorem of the same file goes back (`Edit_at`) or forward
(adding the sentences in between), never replays the file again.

Coq's document is a single line: going back with `Edit_at` expires every later
state. A GoalState's handle is therefore a `ProofPoint` (theorem and the
tactic sentences that lead to the state), and the session keeps the line it
has in Coq: returning to a state on that line is one `Edit_at`; a state on
another branch is reached by going back to the common prefix and replaying
the rest. Handles stay valid across process restarts for the same reason.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import time
from dataclasses import dataclass
from typing import ClassVar

from proofsmith.checker.backend import CheckerUnavailable, HeaderError, SessionCrashed
from proofsmith.checker.coq import guard, protocol
from proofsmith.checker.coq.assumptions import (
    IMPREDICATIVE_SET,
    PRINTING_SENTENCES,
    Assumption,
    AssumptionFinder,
    AssumptionKind,
    AssumptionsUnreadable,
    from_kernel,
)
from proofsmith.checker.coq.axiom_cache import library_axiom_cache
from proofsmith.checker.coq.document import CoqDocument, CoqError, ProcessUnsound, QueryError
from proofsmith.checker.coq.file_context import STDLIB, ContextError, ProjectFile, file_script
from proofsmith.checker.coq.kernel_query import answer as kernel_answer
from proofsmith.checker.coq.kernel_query.answer import (
    Declared,
    FactKind,
    KernelAnswerUnreadable,
    KernelDeclarations,
    Origin,
)
from proofsmith.checker.coq.kernel_query.build import LOAD_SENTENCE, installation_key, plugin_folder, warn_once
from proofsmith.checker.coq.library import coqlib, reserved_binding
from proofsmith.checker.coq.process import CoqTimeout
from proofsmith.checker.coq.sentences import CoqSyntaxError, SentenceKind, split_sentences
from proofsmith.checker.process_session import ProcessSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import (
    CheckResult,
    GoalState,
    NextState,
    ProofFinished,
    TacticError,
    TacticResult,
    TacticTimeout,
    Theorem,
    Verdict,
)
from proofsmith.formats.coq_load_path import LoadPath

TOP_MODULE = "Top"  # the module coqidetop puts interactive declarations in

MICROMEGA_NO_CACHE = "Unset Lia Cache. Unset Nia Cache. Unset Nra Cache."


@dataclass(frozen=True)
class HeaderDeclarations:
    """What the problem declares (its header, or the file above the theorem), as the kernel knows it."""

    # the kernel-query plugin's list of the document's constants without a body at the base state
    # (None without the plugin: then no declaration of the document is allowed)
    kernel: KernelDeclarations | None = None
    # in context: the folders of the project's own libraries, whose loaded files' axioms are the problem's
    project_folders: tuple[str, ...] = ()

# Declaration kinds a problem may assume: never a conjecture (Admitted), nor a constant Coq keeps no kind for.
ASSUMABLE = frozenset({Declared.AXIOM, Declared.PARAMETER, Declared.CONTEXT, Declared.PRIMITIVE})


@dataclass(frozen=True)
class ProofPoint:
    theorem: Theorem  # where the proof stands: its header or its place
    statement: str
    path: tuple[str, ...]  # tactic sentences from the start of the proof


@dataclass
class TacticCost:
    """How a tactic sentence fared in the current proof, for run()'s choice between trying it as a
    query first and adding it at once. Against adding it, a query first saves an add and an edit_at
    back (`step_s`) when the tactic fails; when it changes nothing it saves them too but runs it a
    second time (the query of the tactic alone); when it changes the goals it runs it a second time."""

    failed: int = 0
    unchanged: int = 0
    unchanged_s: float = 0.0  # the time one run of those took in Coq, summed
    changed: int = 0
    changed_s: float = 0.0

    # The whole proof's record stands in for this many runs of a sentence (before its own runs say more).
    PRIOR_RUNS: ClassVar[int] = 2

    @property
    def runs(self) -> int:
        return self.failed + self.unchanged + self.changed

    def record(self, outcome: str, run_s: float = 0.0) -> None:
        """One run: "failed", "unchanged" or "changed", and (for the last two) how long one run took."""
        if outcome == "failed":
            self.failed += 1
        elif outcome == "unchanged":
            self.unchanged += 1
            self.unchanged_s += run_s
        elif outcome == "changed":
            self.changed += 1
            self.changed_s += run_s
        else:
            raise ValueError(f"unknown outcome {outcome!r}")

    def saved_s(self, step_s: float) -> float:
        """What queries first would have saved over these runs (negative: what they would have cost)."""
        return (self.failed + self.unchanged) * step_s - self.unchanged_s - self.changed_s

    def query_first(self, step_s: float, proof: TacticCost | None = None) -> bool:
        """Whether a query first is expected to cost no more than adding at once, given what an add and
        an edit_at back cost (`step_s`); `proof` (every sentence's record) is the prior."""
        prior = 0.0
        if proof is not None and proof.runs:
            prior = proof.saved_s(step_s) / proof.runs * self.PRIOR_RUNS
        return self.saved_s(step_s) + prior >= 0


class CoqSession(ProcessSession[CoqDocument]):
    backend = "coq"
    # run(): a one-sentence tactic is first tried as a query (CoqDocument.tactic_error); only one
    # that runs is added to the document. False: every tactic is added (the tests compare the two).
    tactics_tried_first = True

    def __init__(self, settings: CheckerSettings | None = None):
        super().__init__(settings or CheckerSettings())
        if shutil.which(self.settings.coq_binary) is None:
            raise CheckerUnavailable(
                f"{self.settings.coq_binary} not found on PATH: install Coq 8.16 "
                "(Debian: apt-get install coq) or set PROOFSMITH_COQ_BINARY"
            )
        reserved = reserved_binding(LoadPath.from_coq_args(self.settings.coq_args).bindings)
        if reserved:
            raise CheckerUnavailable(f"coq_args: {reserved}")
        self._prelude = self.settings.coq_prelude
        # the proof currently in Coq's document: (header, statement), the
        # statement's state, and the (sentence, state) line after it
        self._doc_theorem: tuple[Theorem, str] | None = None
        self._doc_start = 0
        self._doc_line: list[tuple[str, int]] = []
        self._prelude_state = 0
        self._header_state = 0
        self._header_declarations = HeaderDeclarations()
        self._deadline: float | None = None  # of the check in progress, for queries
        # a file context: the file this process was started for, and (sentence, state) of its replayed prefix
        self._file: ProjectFile | None = None
        self._prefix: list[tuple[str, int]] = []
        self._place_key = ""  # the file and statement whose prefix is loaded
        self._kernel_folder = plugin_folder(self.settings.cache_dir, self.settings.coq_binary)
        self._kernel = False  # the plugin is loaded in the current process
        self._ltac_names: dict[tuple[int, str], bool] = {}
        self._timed_out: set[tuple[ProofPoint, str]] = set()  # (state, tactic) that ran out of time, this proof
        self._costs: dict[str, TacticCost] = {}  # what each tactic sentence cost in this proof, for run()'s choice
        self._proof_cost = TacticCost()  # and all of them together
        self._call_seconds: dict[str, float] = {}  # every process's calls to coqidetop, by kind (CoqDocument._call)
        self._start()

    # ------------------------------------------------------------ process

    @property
    def assumption_paths(self) -> dict[str, int]:
        """How many proofs' assumptions this process read on the fast path, and by Coq's own."""
        return {"fast": self._assumptions.fast, "coq": self._assumptions.full}

    def _spawn(self) -> CoqDocument:
        plugin = ["-I", str(self._kernel_folder)] if self._kernel_folder is not None else []
        return CoqDocument(self.settings, [*plugin, *(self._file.coq_args if self._file else ())], self._call_seconds)

    def call_seconds(self) -> dict[str, float]:
        return dict(self._call_seconds)

    def _load_plugin(self) -> None:
        """Declare the kernel-query plugin as the document's first sentence (it changes no logical state)."""
        self._kernel = False
        if self._kernel_folder is None:
            return
        doc = self._started_process()
        start = doc.tip
        try:
            doc.append(LOAD_SENTENCE, START_PLUGIN_TIMEOUT_S)
            doc.force(START_PLUGIN_TIMEOUT_S)
            self._kernel = True
            if self.settings.cache_dir is not None:  # the answers for library globals, kept per .vo digest
                folder = self.settings.cache_dir / "coq-kernel-answers" / installation_key(self.settings.coq_binary)
                folder.mkdir(parents=True, exist_ok=True)
                doc.query(f"ProofsmithAnswerCache {_coq_string(str(folder))}.", doc.tip, START_PLUGIN_TIMEOUT_S)
        except (CoqError, ProcessUnsound, QueryError, OSError) as exc:
            self._kernel = False
            warn_once(f"the kernel-query plugin in {self._kernel_folder} does not load ({exc}); assumptions "
                      "come from Coq's Print Assumptions instead (slower)")
            self._recover_to(start)

    def _started(self) -> None:
        self._ltac_names = {}
        self._doc_theorem = None
        self._prefix = []
        self._version = self._started_process().version
        self._load_plugin()
        installation = [self._version, os.path.realpath(shutil.which(self.settings.coq_binary) or ""),
                        *self.settings.coq_args]
        roots = ("Coq", *(b.logical.split(".")[0] for b in LoadPath.from_coq_args(self.settings.coq_args).bindings
                          if b.logical))
        self._assumptions = AssumptionFinder(
            self._query, self._locate, library_axiom_cache(self.settings.cache_dir, installation), roots,
            # Print Assumptions reports "Set is impredicative" for everything; only Coq can say so
            always_full=self.settings.coq_assumptions == "coq" or "-impredicative-set" in self.settings.coq_args,
        )
        if self._file is not None:  # a library file is replayed as it is, with nothing before it
            self._prelude = ""
            self._prelude_state = self._started_process().tip
            self._assumptions.set_default_flags(self._prelude_state)
            return
        self._prelude = self.settings.coq_prelude
        timeout = max(self.settings.timeout_s, 30.0)
        try:
            self._add_script(self.settings.coq_prelude, timeout)
            # micromega otherwise writes .lia.cache files into the working directory
            self._prelude_state = self._add_script(MICROMEGA_NO_CACHE, timeout)[-1][1]
            self._assumptions.set_default_flags(self._prelude_state)
        except (CoqError, HeaderError, QueryError) as exc:
            self.close()
            raise CheckerUnavailable(f"the Coq tactic prelude does not load: {exc}") from None

    def _is_ltac(self, word: str) -> bool:
        """Whether `word` names an Ltac definition in the base state (the problem's own tactics)."""
        key = (self._header_state, word)
        if key not in self._ltac_names:
            try:
                answer = self._query(f"Locate Ltac {word}.", self._header_state)
            except QueryError:
                answer = ""
            self._ltac_names[key] = any(
                line.startswith("Ltac ") and line.split()[1].rsplit(".", 1)[-1] == word
                for line in answer.splitlines() if len(line.split()) > 1)
        return self._ltac_names[key]

    def _query_timeout(self) -> float:
        """Within the current check's deadline."""
        return self.settings.timeout_s if self._deadline is None else max(self._deadline - time.monotonic(), 0.001)

    def _query(self, command: str, state: int) -> str:
        return self._started_process().query(command, state, self._query_timeout())

    def _locate(self, name: str, state: int) -> tuple[str, str] | None:
        return self._started_process().locate(name, state, self._query_timeout())

    # ------------------------------------------------------------ document

    def _add_script(self, script: str, timeout_s: float | None) -> list[tuple[str, int]]:
        """Add every sentence of trusted text (prelude, header) and execute it.

        Returns (sentence, state after it) for each sentence, starting with
        ("", the state before the script)."""
        try:
            sentences = split_sentences(script)
        except CoqSyntaxError as exc:
            raise HeaderError(str(exc)) from None
        doc = self._started_process()
        start = doc.tip
        added = [("", start)]
        try:
            for sentence in sentences:
                added.append((sentence.text, doc.append(sentence.text, timeout_s)))
            doc.force(timeout_s)
        except ProcessUnsound as exc:
            self.restart()
            raise HeaderError(str(exc)) from None
        except CoqError as exc:
            self._recover_to(start)
            raise HeaderError(str(exc)) from None
        return added

    def _recover_to(self, state: int) -> None:
        try:
            self._started_process().edit_at(state)
        except (CoqError, CoqTimeout):
            self.restart()

    def load_context(self, theorem: Theorem, timeout_s: float | None = None) -> None:
        """Make the theorem's context (its header, or its file up to it) the base state."""
        if theorem.place is None:
            self.load_header(theorem.header, timeout_s)
        else:
            self._load_place(theorem, timeout_s)

    def load_header(self, header: str, timeout_s: float | None = None) -> None:
        """Make `header` the base state; cheap when it is already loaded."""
        if self._file is not None:  # this process was started as a library file's module
            self._file = None
            self._start()
        doc = self._live_process()
        self._doc_theorem = None
        if header == self._header:
            doc.edit_at(self._header_state)
            return
        doc.edit_at(self._prelude_state)
        self._header = None
        added = self._add_script(header, timeout_s)
        self._header_state = added[-1][1]
        self._assumptions.new_header(self._header_state, header, local_prefix=TOP_MODULE + ".")
        self._header_declarations = HeaderDeclarations(self._kernel_declarations())
        self._header = header

    def _load_place(self, theorem: Theorem, timeout_s: float | None) -> None:
        """Replay the theorem's file up to its statement, in a process started as that file's module."""
        place = theorem.place
        if place is None:  # load_context sends only a theorem in context here
            raise ValueError(f"{theorem.name}: not a theorem in its file")
        try:
            script = file_script(place)
            declaration = script.find(theorem.name, place.line)
        except ContextError as exc:
            raise HeaderError(str(exc)) from None
        if " ".join(theorem.statement.split()) != " ".join(script.statement(declaration).split()):
            raise HeaderError(f"{theorem.name}: the statement given is not the one at line {declaration.line} "
                              f"of {script.file.path}")
        self._doc_theorem = None
        key = f"{theorem.context_key}@{declaration.index}"
        if self._file != script.file or not self.alive:
            self._file = script.file
            self._start()
        elif self._header == theorem.context_key and self._place_key == key:
            self._started_process().edit_at(self._header_state)
            return
        doc = self._started_process()
        self._header = None
        wanted = script.sentences[: declaration.index]
        keep = 0
        while keep < min(len(self._prefix), len(wanted)) and self._prefix[keep][0] == wanted[keep].text:
            keep += 1
        del self._prefix[keep:]
        doc.edit_at(self._prefix[-1][1] if self._prefix else self._prelude_state)
        timeout_s = max(timeout_s or 0.0, self.settings.coq_context_timeout_s)
        try:
            for sentence in wanted[keep:]:
                self._prefix.append((sentence.text, doc.append(sentence.text, timeout_s)))
            doc.force(timeout_s)
        except (CoqError, ProcessUnsound) as exc:
            failed = _failed_sentence(exc, self._prefix, keep)
            self._start()
            line = script.line_of(failed) if failed is not None else "?"
            raise HeaderError(f"{script.file.path} does not replay up to {theorem.name}: line {line}: {exc}") from None
        self._header_state = doc.tip
        self._place_key = key
        self._assumptions.new_header(self._header_state, key, local_prefix=script.file.module + ".")
        if script.file.project == STDLIB:
            folders = (str(coqlib() / "theories"),)
        else:
            folders = tuple(b.directory for b in script.file.load_path.bindings if b.logical)
        self._header_declarations = HeaderDeclarations(self._kernel_declarations(), folders)
        self._header = theorem.context_key

    def _kernel_declarations(self) -> KernelDeclarations | None:
        """The document's constants without a body at the base state, from the kernel (None without the plugin)."""
        if not self._kernel:
            return None
        try:
            return kernel_answer.parse_declarations(self._query("ProofsmithDeclarations.", self._header_state))
        except (QueryError, KernelAnswerUnreadable) as exc:
            raise HeaderError(f"the kernel-query plugin cannot list the declarations: {exc}") from None

    # ------------------------------------------------------------ interactive API

    def _state(self, goals: protocol.CoqGoals, point: ProofPoint) -> GoalState:
        return GoalState(
            handle=point, goals=goals.foreground, text=protocol.goals_text(goals), pending=protocol.pending_goals(goals)
        )

    def _goto(self, point: ProofPoint, timeout_s: float | None) -> None:
        """Put Coq's document at `point`, replaying sentences not on the current line."""
        theorem = (point.theorem, point.statement)
        if self._doc_theorem != theorem or not self.alive:
            if self._doc_theorem is not None and self._doc_theorem[0] != point.theorem:
                self._timed_out.clear()
                self._costs.clear()
                self._proof_cost = TacticCost()
            self.load_context(point.theorem, timeout_s)
            self._doc_start = self._started_process().append(point.statement, timeout_s)
            loads = _load_sentence(point.theorem)
            if loads:  # trusted modules loaded inside the proof, before any tactic (Place.loads)
                self._doc_start = self._started_process().append(loads, timeout_s)
            self._doc_theorem = theorem
            self._doc_line = []
        common = 0
        for (text, _), wanted in zip(self._doc_line, point.path):
            if text != wanted:
                break
            common += 1
        doc = self._started_process()
        doc.edit_at(self._doc_line[common - 1][1] if common else self._doc_start)
        del self._doc_line[common:]
        for text in point.path[common:]:
            self._doc_line.append((text, doc.append(text, timeout_s)))

    def _state_of(self, point: ProofPoint, timeout_s: float | None) -> int:
        """The id of `point`'s state in Coq's document: read off the current line when it is on it
        (nothing sent: a query may run at any state the line holds), else reached by `_goto`."""
        if self._doc_theorem == (point.theorem, point.statement) and self.alive:
            keep = len(point.path)
            if keep <= len(self._doc_line) and all(
                    text == wanted for (text, _), wanted in zip(self._doc_line, point.path)):
                return self._doc_line[keep - 1][1] if keep else self._doc_start
        self._goto(point, timeout_s)
        return self._started_process().tip

    def _back_to(self, point: ProofPoint) -> None:
        """After a failed step from `point`: drop what was added beyond it."""
        keep = len(point.path)
        target = self._doc_line[keep - 1][1] if keep else self._doc_start
        del self._doc_line[keep:]
        self._recover_to(target)

    def open(self, theorem: Theorem, timeout_s: float | None = None) -> GoalState:
        timeout_s = timeout_s or self.settings.timeout_s
        parsed = guard.parse_statement(theorem.statement)
        point = ProofPoint(theorem, parsed.text, ())
        try:
            self.load_context(theorem, timeout_s)
        except HeaderError as exc:
            what = "its file does not replay" if theorem.place else "header does not compile"
            raise ValueError(f"{theorem.name}: {what}: {exc}") from None
        try:
            self._goto(point, timeout_s)
            goals = self._started_process().goals(timeout_s)
        except CoqError as exc:
            self._recover_to(self._header_state)
            self._doc_theorem = None
            loads = _load_sentence(theorem)
            what = f"statement or the loads before the proof ({loads})" if loads else "statement"
            raise ValueError(f"{theorem.name}: {what} does not compile: {exc}") from None
        if goals is None:
            raise ValueError(f"{theorem.name}: statement opened no proof")
        return self._state(goals, point)

    def run(self, state: GoalState, tactic: str, timeout_s: float | None = None) -> TacticResult:
        point = state.handle
        if not isinstance(point, ProofPoint):
            raise TypeError("run() needs a GoalState produced by a CoqSession")
        try:
            sentences = split_sentences(tactic)
            for s in sentences:
                if s.kind is SentenceKind.COMMAND:
                    guard.check_tactic_sentence(s.text, is_ltac=self._is_ltac)
        except (CoqSyntaxError, guard.GuardRejection) as exc:
            return TacticError(f"rejected: {exc}")
        if not sentences:
            return TacticError("rejected: empty tactic")
        timeout_s = timeout_s or self.settings.timeout_s
        texts = tuple(s.text for s in sentences)
        cost = self._costs.setdefault(texts[0], TacticCost()) if len(texts) == 1 else None
        tried = False  # as a query first
        if cost is not None and self.tactics_tried_first and _one_sentence_to_coq(texts[0]) and (
                (point, texts[0]) not in self._timed_out) and cost.query_first(self._step_s(), self._proof_cost):
            # A tactic that fails costs one query, not an add, a goal call and an edit_at back
            # (Coq's edit_at walks the whole document). Only one that changes the goals is added.
            # One that once ran out of time is added at once: a slow success would run twice.
            tried = True
            try:
                started = time.perf_counter()
                queried = self._tried_as_query(state, point, texts[0], time.monotonic() + timeout_s)
                self._record(cost, queried, state, time.perf_counter() - started, queried=True)
            except CoqError as exc:  # reaching the point's state failed
                self._back_to(point)
                return TacticError(str(exc))
            except CoqTimeout as exc:
                self._timed_out.add((point, texts[0]))
                if not exc.recovered:
                    self._start()
                return TacticTimeout(f"tactic did not finish in {timeout_s:g} s")
            except (SessionCrashed, ProcessUnsound) as exc:
                self.restart()
                return TacticError(f"Coq crashed running the tactic: {exc}")
            if queried is not None:
                return queried
        try:
            self._goto(point, timeout_s)
            doc = self._started_process()
            for text in texts:
                self._doc_line.append((text, doc.append(text, timeout_s)))
            started = time.perf_counter()
            goals = doc.goals(timeout_s)
            ran_s = time.perf_counter() - started
        except CoqError as exc:
            self._back_to(point)
            if cost is not None and not tried:
                self._record(cost, TacticError(""), state, 0.0)
            return TacticError(str(exc))
        except CoqTimeout as exc:
            if exc.recovered:
                self._back_to(point)
            else:
                self._start()
            return TacticTimeout(f"tactic did not finish in {timeout_s:g} s")
        except (SessionCrashed, ProcessUnsound) as exc:
            # e.g. the memory cap: the tactic is at fault, not the search; states replay
            self.restart()
            return TacticError(f"Coq crashed running the tactic: {exc}")
        if goals is None or goals.given_up:
            self._back_to(point)
            return TacticError("the tactic closed the proof mode" if goals is None else "the tactic gave up a goal")
        new_state = self._state(goals, ProofPoint(point.theorem, point.statement, point.path + texts))
        if cost is not None and not tried:
            self._record(cost, NextState(new_state), state, ran_s)
        if new_state.is_finished:
            return ProofFinished(new_state)
        return NextState(new_state)

    def _record(self, cost: TacticCost, outcome: TacticResult | None, before: GoalState, run_s: float,
                queried: bool = False) -> None:
        """Note one run of a sentence that took `run_s` (`outcome` None: queried and found to change
        the goals; a no-op found by queries ran twice in `run_s`)."""
        if isinstance(outcome, (TacticError, TacticTimeout)):
            kind = "failed"
        elif isinstance(outcome, NextState) and outcome.state.text == before.text:
            kind, run_s = "unchanged", run_s / 2 if queried else run_s
        else:
            kind = "changed"
        for record in (cost, self._proof_cost):
            record.record(kind, run_s)

    def _step_s(self) -> float:
        """What adding a sentence and going back costs in this process, on average (an add and an edit_at)."""
        doc = self._process
        return 0.0 if doc is None else sum(doc.call_seconds.get(kind, 0.0) / doc.call_counts[kind]
                                           for kind in ("add", "edit_at") if doc.call_counts.get(kind))

    def _tried_as_query(self, state: GoalState, point: ProofPoint, text: str, deadline: float) -> TacticResult | None:
        """Run the tactic sentence `text` from `state` as queries, which leave Coq's document as it is:
        its error, the state unchanged (as a NextState) when it succeeds without progress, or None
        when it changes the goals and must be added to read them.

        The first query is `progress (TACTIC).`: a tactic that fails fails there with its own error;
        "Failed to progress." (a no-op, unless the tactic's own progress failed) and a syntax error (a
        sentence that is not a tactic expression) are decided by the tactic alone in a second query."""
        doc = self._started_process()
        at = self._state_of(point, max(deadline - time.monotonic(), 0.001))
        wrapped = _progress_form(text)
        error = doc.tactic_error(wrapped or text, at, max(deadline - time.monotonic(), 0.001))
        if wrapped is not None and error is not None and (error == _NO_PROGRESS or error.startswith("Syntax error")):
            plain = doc.tactic_error(text, at, max(deadline - time.monotonic(), 0.001))
            if plain is None and error == _NO_PROGRESS:
                return NextState(GoalState(ProofPoint(point.theorem, point.statement, point.path + (text,)),
                                           state.goals, state.text, state.pending))
            error = plain
        return None if error is None else TacticError(error)

    def guarded(self, state: GoalState, timeout_s: float | None = None) -> str | None:
        """Coq's `Guarded.` at `state`: None when the proof term so far is guarded, else Coq's complaint.

        Search asks it below a `fix`/`cofix`, so an unguarded branch dies when it runs instead of at Qed.
        """
        point = state.handle
        if not isinstance(point, ProofPoint):
            raise TypeError("guarded() needs a GoalState produced by a CoqSession")
        timeout_s = timeout_s or self.settings.timeout_s
        self._goto(point, timeout_s)
        try:
            self._started_process().query("Guarded.", None, timeout_s)
        except QueryError as exc:
            return str(exc)
        return None

    # ------------------------------------------------------------ whole proofs

    def _check(self, theorem: Theorem, proof: str, timeout_s: float) -> CheckResult:
        t0 = time.monotonic()
        if theorem.place is not None:
            # a file's prefix is paid once per file and session, not from the proof's budget
            try:
                self.load_context(theorem, self.settings.coq_context_timeout_s)
            except HeaderError as exc:
                return CheckResult(Verdict.ERROR, f"file does not replay: {exc}", time_s=time.monotonic() - t0,
                                   checker=self.info)
            except (SessionCrashed, CoqTimeout) as exc:
                self._file = None
                self.restart()
                return CheckResult(Verdict.ERROR, f"file does not replay: {exc}", time_s=time.monotonic() - t0,
                                   checker=self.info)
            t0 = time.monotonic()
        deadline = t0 + timeout_s

        def result(verdict: Verdict, reason: str = "", axioms: tuple[str, ...] = ()) -> CheckResult:
            return CheckResult(verdict, reason, axioms, time.monotonic() - t0, checker=self.info)

        def remaining() -> float:
            return max(deadline - time.monotonic(), 0.001)

        self._doc_theorem = None
        try:
            parsed = guard.parse_statement(theorem.statement)
        except guard.GuardRejection as exc:
            return result(Verdict.ERROR, f"bad statement: {exc}")
        try:
            # Ltac names are known once the header is loaded (checked again below)
            sentences = guard.tactic_sentences(proof, is_ltac=lambda word: True)
        except guard.GuardRejection as exc:
            return result(Verdict.FAILED, f"rejected: {exc}")
        self._deadline = deadline
        try:
            try:
                if theorem.place is None:  # a file context was loaded above, outside the proof's budget
                    self.load_header(theorem.header, remaining())
            except HeaderError as exc:
                return result(Verdict.ERROR, f"header does not compile: {exc}")
            try:
                guard.tactic_sentences(proof, is_ltac=self._is_ltac)
            except guard.GuardRejection as exc:
                return result(Verdict.FAILED, f"rejected: {exc}")
            doc = self._started_process()
            try:
                doc.append(parsed.text, remaining())
                if doc.goals(remaining()) is None:
                    return result(Verdict.ERROR, "statement opened no proof")
            except CoqError as exc:
                return result(Verdict.ERROR, f"statement does not compile: {exc}")
            loads = _load_sentence(theorem)
            if loads:  # the same trusted loads as the interactive proof, before the first tactic
                try:
                    doc.append(loads, remaining())
                    if doc.goals(remaining()) is None:
                        return result(Verdict.ERROR, f"the loads before the proof ({loads}) closed the proof")
                except CoqError as exc:
                    return result(Verdict.ERROR, f"the loads before the proof ({loads}) fail: {exc}")
            states = []
            try:
                for s in sentences:
                    states.append(doc.append(s.text, remaining()))
                goals = doc.goals(remaining())
            except CoqError as exc:
                return result(Verdict.FAILED, self._locate_failure(exc, sentences, states))
            if goals is None:
                return result(Verdict.FAILED, "rejected: the proof closed the proof mode")
            if goals.given_up:
                return result(Verdict.FAILED, "rejected: goals were given up")
            open_goals = len(goals.foreground) + goals.background + goals.shelved
            if open_goals:
                return result(Verdict.FAILED, f"incomplete proof: {open_goals} goal(s) remain")
            try:
                doc.append("Qed.", remaining())
                doc.force(remaining())
            except CoqError as exc:
                return result(Verdict.FAILED, f"Qed rejected: {exc}")
            try:
                assumptions = self._assumptions_of(parsed.name, remaining())
            except (QueryError, AssumptionsUnreadable) as exc:
                return result(Verdict.FAILED, f"rejected: cannot read what the proof assumes: {exc}")
            names = tuple(a.name for a in sorted(assumptions))
            disallowed = [a for a in sorted(assumptions) if not self._allowed(a)]
            if disallowed:
                return result(Verdict.FAILED, "depends on disallowed assumptions: "
                              + ", ".join(_describe(a) for a in disallowed), names)
            return result(Verdict.PROVED, "", names)
        except ProcessUnsound as exc:
            self.restart()
            return result(Verdict.ERROR, f"checker process failed ({exc}); it was replaced")
        except CoqTimeout as exc:
            if not exc.recovered:
                self._start()
            return result(Verdict.TIMEOUT, f"no verdict within {timeout_s:g} s")
        except SessionCrashed as exc:
            return result(Verdict.ERROR, f"checker crashed: {exc}")
        finally:
            self._deadline = None
            if self.alive and self._header is not None:
                try:
                    self._recover_to(self._header_state)
                except (CoqTimeout, SessionCrashed, CheckerUnavailable):
                    self.close()

    @staticmethod
    def _locate_failure(exc: CoqError, sentences, states: list[int]) -> str:
        """Name the sentence Coq stopped at: the first one after the last good state."""
        index = len(states)
        if exc.state is not None and exc.state in states:
            index = states.index(exc.state) + 1
        elif exc.state is not None and states and exc.state < states[0]:
            index = 0
        if index < len(sentences):
            text = " ".join(sentences[index].text.split())
            return f"error at sentence {index + 1} ({text[:60]}): {exc}"
        return str(exc)

    def _assumptions_of(self, name: str, timeout_s: float) -> frozenset[Assumption]:
        """What the constant just declared depends on: the kernel-query plugin's answer, or Coq's
        printed `Print Assumptions` without it (see checker.coq.assumptions)."""
        doc = self._started_process()
        if self._kernel and self.settings.coq_assumptions == "fast":
            try:
                found = kernel_answer.parse_assumptions(self._query(f"ProofsmithAssumptions {_coq_string(name)}.",
                                                                    doc.tip))
            except KernelAnswerUnreadable as exc:
                raise AssumptionsUnreadable(str(exc)) from None
            subject = found.subject
            if subject.origin is not Origin.CURRENT or subject.declared is not Declared.PROOF or not (
                    subject.display.endswith("." + name)):
                raise AssumptionsUnreadable(f"{name} does not name the theorem just proved: {subject.display}")
            self._assumptions.fast += 1
            return from_kernel(found)
        for sentence in PRINTING_SENTENCES:
            doc.append(sentence, timeout_s)
        return self._assumptions.of_new_constant(name, doc.tip)

    def _allowed(self, assumption: Assumption) -> bool:
        if assumption.kind is AssumptionKind.AXIOM:
            return self._allowed_constant(assumption)
        if assumption.kind is AssumptionKind.SECTION_VARIABLE:
            # only the trusted context (header or file) can open a section and declare its
            # variables, in any form (Variable, Context, generalized binders): they are the problem's
            return True
        # the one unsafe theory a user can choose deliberately, for the whole session
        return assumption.name == IMPREDICATIVE_SET and "-impredicative-set" in self.settings.coq_args


    def _allowed_constant(self, assumption: Assumption) -> bool:
        """An axiom the problem declared (header, file above, the project's loaded files, a functor's
        parameter) or one of Coq's own library allowed by name; decided on the kernel's facts only."""
        fact = assumption.fact
        if fact is None:  # Coq's printed answer, its names resolved by About
            if not assumption.resolved:
                return False
            kernel = self._header_declarations.kernel
            if kernel is not None:  # the plugin is loaded: the problem's declarations are known by their kinds
                declared = [g for g in kernel.constants if g.name == assumption.name]
                if declared:
                    return all(g.declared in ASSUMABLE for g in declared)
            # no load path may bind the Coq root (library.reserved_binding): Coq.* is Coq's own library
            return assumption.name.startswith("Coq.") and self._pattern_allows(assumption.name)
        subject = fact.subject
        # a constant without a body, or one of the kernel's primitives (PrimInt63.add: Coq's library declares them)
        if fact.kind is not FactKind.CONSTANT or subject is None or subject.body not in (
                kernel_answer.Body.NONE, kernel_answer.Body.PRIMITIVE):
            return False
        if subject.origin is Origin.BOUND:  # a field of an enclosing functor's (or module type's) parameter
            return subject.declared is not Declared.CONJECTURE
        if subject.declared not in ASSUMABLE:
            return False
        declared = self._header_declarations
        if subject.origin is Origin.CURRENT:
            return declared.kernel is not None and subject in declared.kernel.constants
        if subject.origin is not Origin.LIBRARY or subject.file is None:
            return False
        file = os.path.realpath(subject.file)
        if any(_inside(file, folder) for folder in declared.project_folders):
            return True
        if subject.name is None or not self._pattern_allows(subject.name):
            return False
        # Coq's own library is where Coq keeps it, whatever logical name a load path binds
        if not _inside(file, str(coqlib())):
            return False
        return not subject.name.startswith("Coq.") or _inside(file, str(coqlib() / "theories"))

    def _pattern_allows(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.settings.coq_allowed_axioms)


START_PLUGIN_TIMEOUT_S = 60.0

# A period that would end a sentence before the text's end (Coq's lexer: a period followed by a blank).
_INNER_END = re.compile(r"\.\s")
# Coq's error for `progress T` when T succeeds and changes nothing.
_NO_PROGRESS = "Failed to progress."
# Sentences `progress (...)` cannot wrap: bullets, braces, goal selectors, and the proof-structure
# commands the guard admits (guard.PROOF_STRUCTURE: Unshelve, Grab Existential Variables).
_NOT_WRAPPABLE = re.compile(
    r"\s*(?:[-+*{}]|(?:\d+(?:\s*-\s*\d+)?(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*|all|par|!|\[\s*[\w']+\s*\])\s*:|(?:"
    + "|".join(sorted(guard.PROOF_STRUCTURE)) + r")\b)")


def _load_sentence(theorem: Theorem) -> str:
    """The trusted sentence that loads a theorem's `Place.loads` inside its proof ("" for none)."""
    return theorem.place.load_sentence if theorem.place is not None else ""


def _one_sentence_to_coq(sentence: str) -> bool:
    """Whether Coq cannot read `sentence` as more than one: no string, no comment, and no period
    followed by a blank before its end. A query runs every sentence of its text (an add only the
    first), so a text the guard read as one sentence is sent as a query only when Coq must too."""
    return '"' not in sentence and "(*" not in sentence and not _INNER_END.search(sentence.strip())


def _progress_form(sentence: str) -> str | None:
    """`progress (TACTIC).` for a tactic sentence `TACTIC.`; None for one it cannot wrap."""
    body = sentence.strip()
    if not body.endswith(".") or body.endswith("..") or _NOT_WRAPPABLE.match(body):
        return None
    return f"progress ({body[:-1]})."


def _inside(path: str, folder: str) -> bool:
    folder = os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _coq_string(text: str) -> str:
    """A Coq string literal (a quote is doubled)."""
    return '"' + text.replace('"', '""') + '"'


def _failed_sentence(exc: Exception, prefix: list[tuple[str, int]], keep: int) -> int | None:
    """Index of the prefix sentence Coq refused: the one after its last good state, or the one it would not add."""
    state = getattr(exc, "state", None)
    states = [s for _, s in prefix]
    if state in states[keep:]:
        return states.index(state) + 1
    return len(prefix)


def _describe(assumption: Assumption) -> str:
    fact = assumption.fact
    if assumption.kind is AssumptionKind.AXIOM and fact is not None and fact.subject is not None:
        subject = fact.subject
        if subject.declared is Declared.CONJECTURE:
            return f"{assumption.name} (conjectural: Admitted or Conjecture)"
        where = {Origin.CURRENT: "declared by the proof, not the problem", Origin.BOUND: "a module parameter's field",
                 Origin.LIBRARY: f"from {subject.file}"}.get(subject.origin, subject.origin.value)
        return f"{assumption.name} ({subject.declared.value if subject.declared else 'no kind'}, {where})"
    if assumption.kind is AssumptionKind.AXIOM:
        return assumption.name if assumption.resolved else f"{assumption.name} (as printed: Coq cannot resolve it here)"
    return f"{assumption.kind.value} {assumption.name}"
