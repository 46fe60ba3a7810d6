"""Trusted replay of a Coq document: a library file added sentence by sentence.

`CoqSession` guards untrusted proofs; a `CoqDocument` does the opposite job.
Its input is a library the user chose to trace, so it accepts any sentence,
vernacular included, and reports after each one what Coq says: the open goals
(or none outside a proof) and the info messages of a verbose `Add`, which name
what the sentence declared ("x is defined"). Queries (`About`, `Locate`,
`Search`, ...) can be asked at the tip or at any earlier state of the document,
which Coq keeps, so "was this name visible yet?" costs one query.

A sentence that fails is taken back out of the document (`Edit_at` the state
before it), so the caller can record the error and go on with the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import psutil

from checker.backend import SessionCrashed
from checker.coq import protocol
from checker.coq.process import CoqProcess, CoqTimeout, coqidetop_argv
from checker.settings import CheckerSettings

START_TIMEOUT_S = 60.0
QUERY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Step:
    """What one sentence did: its state and the goals after it, or why Coq refused it."""

    state: int | None  # None when the sentence failed (and was taken back)
    goals: protocol.CoqGoals | None  # None outside proof mode
    messages: tuple[protocol.Message, ...]
    error: str = ""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.state is not None

    def infos(self) -> list[str]:
        return [m.text for m in self.messages if m.level == "info"]


@dataclass(frozen=True)
class About:
    """A global name as `About` describes it."""

    name: str  # fully qualified ("Expands to: Constant Coq.Init.Peano.plus_n_O")
    kind: str  # Constant, Inductive, Constructor, ...
    type: str  # as Coq prints it in the queried state
    opaque: bool


class QueryError(RuntimeError):
    """Coq refused a query (syntax error, unknown reference where one is required)."""


_DEFINED = re.compile(r"^(\S+) is (?:defined|declared)$")
_EXPANDS = re.compile(r"^Expands to: (\w+)\s+(\S+)", re.M)  # long names wrap to the next line
_OPAQUE = re.compile(r"^\S+ is opaque$", re.M)
_LOCATED = re.compile(r"^(\w+)\s+(\S+)")
_MATCH_BRANCH = re.compile(r"^\s*\| (\S+)", re.M)


def declared_names(step: Step) -> list[str]:
    """Names a sentence declared, from Coq's verbose messages, in the order Coq reports them."""
    names = []
    for text in step.infos():
        for line in text.splitlines():
            m = _DEFINED.match(line.strip())
            if m:
                names.append(m.group(1))
    return names


class CoqDocument:
    """One coqidetop process replaying one document."""

    def __init__(self, settings: CheckerSettings, args: Sequence[str] = ()):
        self.settings = settings
        self._proc = CoqProcess(coqidetop_argv(settings, args), settings.memory_mb, settings.coq_stack_mb)
        try:
            self.root = protocol.init_state(self._call(protocol.init_call(), START_TIMEOUT_S))
            self.version = protocol.coq_version(self._call(protocol.about_call(), START_TIMEOUT_S))
        except (SessionCrashed, CoqTimeout, ValueError) as exc:
            self.close()
            raise SessionCrashed(f"coqidetop did not start ({' '.join(args)}): {exc}") from None
        self.tip = self.root

    def _call(self, xml: str, timeout_s: float | None) -> protocol.Reply:
        try:
            return self._proc.call(xml, timeout_s)
        except CoqTimeout as exc:
            if not exc.recovered:
                raise SessionCrashed(f"no answer in {timeout_s:g} s; coqidetop was killed") from None
            raise

    @property
    def alive(self) -> bool:
        return self._proc.alive

    def close(self) -> None:
        self._proc.kill()

    def cpu_seconds(self) -> float:
        """CPU time the coqidetop process has used so far (0 once it is gone)."""
        try:
            times = psutil.Process(self._proc.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    def __enter__(self) -> "CoqDocument":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ document

    def add(self, sentence: str, timeout_s: float | None = None) -> Step:
        """Add and run one sentence; on failure the document is back where it was.

        Raises SessionCrashed when the process died or had to be killed.
        """
        timeout_s = timeout_s or self.settings.timeout_s
        before = self.tip
        messages: list[protocol.Message] = []
        try:
            reply = self._call(protocol.add_call(sentence, before, verbose=True), timeout_s)
            messages += reply.messages
            if not reply.ok:
                self._back_to(before)
                return Step(None, None, tuple(messages), reply.error)
            state = protocol.added_state(reply)
            # Coq runs the sentence when something observes it: errors and
            # declarations are reported in the answer to Goal.
            reply = self._call(protocol.goal_call(), timeout_s)
            messages += reply.messages
            if not reply.ok:
                self._back_to(before)
                return Step(None, None, tuple(messages), reply.error)
        except CoqTimeout:
            self._back_to(before)
            return Step(None, None, tuple(messages), f"did not finish in {timeout_s:g} s", timed_out=True)
        self.tip = state
        return Step(state, protocol.parse_goals(reply), tuple(messages))

    def _back_to(self, state: int) -> None:
        reply = self._call(protocol.edit_at_call(state), QUERY_TIMEOUT_S)
        if not reply.ok:
            raise SessionCrashed(f"cannot go back to state {state}: {reply.error}")
        self.tip = state

    # ------------------------------------------------------------ queries

    def query(self, command: str, at: int | None = None, timeout_s: float = QUERY_TIMEOUT_S) -> str:
        """Coq's answer to a query (`Locate x.`, `About x.`, ...) in state `at` (default: the tip)."""
        try:
            reply = self._call(protocol.query_call(command, self.tip if at is None else at), timeout_s)
        except CoqTimeout:
            raise QueryError(f"{command} did not finish in {timeout_s:g} s") from None
        if not reply.ok:
            raise QueryError(f"{command} {reply.error}")
        return reply.notices()

    def locate(self, name: str, at: int | None = None) -> tuple[str, str] | None:
        """(kind, fully qualified name) of the object `name` refers to, or None."""
        try:
            answer = self.query(f"Locate {name}.", at)
        except QueryError:
            return None
        m = _LOCATED.match(answer)
        if m is None or m.group(1) == "No":
            return None
        return m.group(1), m.group(2)

    def about(self, name: str, at: int | None = None) -> About | None:
        """What `About name` says of a global object; None for anything else (notations, variables)."""
        try:
            answer = self.query(f"About {name}.", at)
        except QueryError:
            return None
        m = _EXPANDS.search(answer)
        if m is None:
            return None
        head = answer.split("\n\n", 1)[0]
        _, colon, typ = head.partition(":")
        if not colon:
            return None
        return About(m.group(2), m.group(1), typ.strip(), _OPAQUE.search(answer) is not None)

    def sort_of(self, name: str, at: int | None = None) -> str | None:
        """The sort of the type of global `name` (Prop for a lemma): Prop, Set, SProp or Type."""
        try:
            answer = self.query(f"Check ltac:(let T := type of @{name} in let S := type of T in exact S).", at)
        except QueryError:
            return None
        word = answer.split(None, 1)
        return word[0] if word else None

    def constructors(self, inductive: str, at: int | None = None) -> list[str]:
        """Constructor names of an inductive type, in order (`Show Match`)."""
        try:
            return _MATCH_BRANCH.findall(self.query(f"Show Match {inductive}.", at))
        except QueryError:
            return []

    def loaded_libraries(self, at: int | None = None) -> list[str]:
        answer = self.query("Print Libraries.", at)
        return [line.strip() for line in answer.splitlines()[1:] if line.strip()]

    def search_inside(self, module: str, at: int | None = None) -> list[tuple[str, str]]:
        """(name as printed, type) of every object of a closed module (empty for functors)."""
        try:
            answer = self.query(f"Search _ inside {module}.", at, timeout_s=4 * QUERY_TIMEOUT_S)
        except QueryError:
            return []
        entries: list[tuple[str, str]] = []
        for line in answer.splitlines():
            if line[:1].isspace() and entries:
                name, typ = entries[-1]
                entries[-1] = (name, typ + "\n" + line)
            elif line.strip():
                name, _, typ = line.partition(":")
                entries.append((name.strip(), typ.strip()))
        return [(n, t.strip()) for n, t in entries]
