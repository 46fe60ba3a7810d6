"""A Coq document: one coqidetop process and the line of states its sentences made.

The primitives are coqidetop's calls: `append` a sentence after the tip
(unobserved), read the `goals` (which runs what was appended), `force` it
(a `Qed` is checked then), `edit_at` an earlier state (the later ones
expire) and `query` any state Coq still keeps. `locate` and `about` resolve
a name the way a term would, so "was this name visible yet?" costs one query.

Two users build on them. `CoqSession` guards untrusted proofs and decides
itself what a refusal means. `add` is trusted replay for the tracer: its
input is a library the user chose to trace, so it accepts any sentence,
vernacular included, and reports after each one what Coq says: the open
goals (or none outside a proof) and the info messages of a verbose `Add`,
which name what the sentence declared ("x is defined"). A sentence that
fails is taken back out of the document, so the caller can record the error
and go on with the next one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

from proofsmith.checker.backend import SessionCrashed
from proofsmith.checker.coq import protocol
from proofsmith.checker.coq.process import CoqProcess, CoqTimeout, coqidetop_argv
from proofsmith.checker.settings import CheckerSettings

START_TIMEOUT_S = 60.0
QUERY_TIMEOUT_S = 60.0
EDIT_TIMEOUT_S = 30.0


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


class CoqError(Exception):
    """Coq refused a sentence; `state` is the last good state it reports."""

    def __init__(self, message: str, state: int | None = None):
        super().__init__(message)
        self.state = state


class ProcessUnsound(Exception):
    """Coq ran out of memory or stack (or hit an anomaly): its state is unknown."""


# Errors after which the process is in an unknown state (Coq reports them as
# ordinary errors and goes on): whoever owns it must replace it.
_UNKNOWN_STATE = re.compile(r"^(?:Out of memory\.|Stack overflow\.|Anomaly\b)")
_DEFINED = re.compile(r"^(\S+) is (?:defined|declared)$")
_EXPANDS = re.compile(r"^Expands to: (\w+)\s+(\S+)", re.M)  # long names wrap to the next line
_OPAQUE = re.compile(r"^\S+ is opaque$", re.M)
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


def parse_about(answer: str) -> tuple[str, str] | None:
    """(kind, fully qualified name) from an `About` answer; None when it names no object."""
    m = _EXPANDS.search(answer)
    return (m.group(1), m.group(2)) if m else None


def _refusal(reply: protocol.Reply) -> Exception:
    if _UNKNOWN_STATE.match(reply.error):
        return ProcessUnsound(reply.error)
    return CoqError(reply.error, reply.error_state)


class CoqDocument:
    """One coqidetop process and its document: a line of states from `root` to `tip`.

    Every call raises CoqTimeout when Coq does not answer in time (it was
    interrupted, or killed: see `recovered`) and SessionCrashed when the
    process is gone.
    """

    def __init__(self, settings: CheckerSettings, args: Sequence[str] = (), call_seconds: dict[str, float] | None = None):
        """`call_seconds` (kept by the owner across restarts) gets the wall time of each call, by kind."""
        self.settings = settings
        self.call_seconds = {} if call_seconds is None else call_seconds
        self.call_counts: dict[str, int] = {}
        self._proc = CoqProcess(coqidetop_argv(settings, args), settings.memory_mb, settings.coq_stack_mb)
        try:
            self.root = protocol.init_state(self._proc.call(protocol.init_call(), START_TIMEOUT_S))
            self.version = protocol.coq_version(self._proc.call(protocol.about_call(), START_TIMEOUT_S))
        except (SessionCrashed, CoqTimeout, ValueError) as exc:
            self.kill()
            started_as = f" ({' '.join(args)})" if args else ""
            raise SessionCrashed(f"coqidetop did not start{started_as}: {exc}") from None
        self.tip = self.root

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.alive

    def kill(self) -> None:
        self._proc.kill()

    def cpu_seconds(self) -> float:
        """CPU time the coqidetop process has used so far (0 once it is gone)."""
        try:
            times = psutil.Process(self._proc.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    def __enter__(self) -> CoqDocument:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def _call(self, kind: str, xml: str, timeout_s: float | None) -> protocol.Reply:
        """One coqidetop call; its wall time (waiting for Coq and parsing its reply) goes to `call_seconds[kind]`."""
        start = time.perf_counter()
        try:
            return self._proc.call(xml, timeout_s)
        finally:
            self.call_seconds[kind] = self.call_seconds.get(kind, 0.0) + time.perf_counter() - start
            self.call_counts[kind] = self.call_counts.get(kind, 0) + 1

    # ------------------------------------------------------------ primitives

    def append(
        self, sentence: str, timeout_s: float | None, messages: list[protocol.Message] | None = None
    ) -> int:
        """Add one sentence after the tip, unobserved: Coq runs it when asked for goals or forced.

        Returns its state, the new tip. Raises CoqError (ProcessUnsound) when
        Coq refuses it; the tip is then unchanged. Given `messages`, the
        sentence is added verbosely and Coq's feedback is appended to the list.
        """
        reply = self._call("add", protocol.add_call(sentence, self.tip, verbose=messages is not None), timeout_s)
        if messages is not None:
            messages += reply.messages
        if not reply.ok:
            raise _refusal(reply)
        self.tip = protocol.added_state(reply)
        return self.tip

    def goals(
        self, timeout_s: float | None, messages: list[protocol.Message] | None = None
    ) -> protocol.CoqGoals | None:
        """Run the document up to the tip and read the open goals (None outside proof mode).

        A sentence that fails is often reported only here: CoqError (ProcessUnsound).
        """
        reply = self._call("goals", protocol.goal_call(), timeout_s)
        if messages is not None:
            messages += reply.messages
        if not reply.ok:
            raise _refusal(reply)
        start = time.perf_counter()
        try:
            return protocol.parse_goals(reply)
        finally:
            self.call_seconds["goals_parse"] = self.call_seconds.get("goals_parse", 0.0) + time.perf_counter() - start

    def force(self, timeout_s: float | None) -> None:
        """Run the document up to the tip, proofs included (a `Qed` is checked here)."""
        reply = self._call("force", protocol.status_call(force=True), timeout_s)
        if not reply.ok:
            raise _refusal(reply)

    def edit_at(self, state: int, timeout_s: float | None = EDIT_TIMEOUT_S) -> None:
        """Make `state` the tip; the states after it expire. CoqError when Coq cannot go back."""
        if state == self.tip:
            return
        reply = self._call("edit_at", protocol.edit_at_call(state), timeout_s)
        if not reply.ok:
            raise CoqError(f"cannot go back to state {state}: {reply.error}")
        self.tip = state

    def query(self, command: str, at: int | None = None, timeout_s: float | None = QUERY_TIMEOUT_S) -> str:
        """Coq's answer to a query (`About x.`, `Print x.`, ...) in state `at` (default: the tip).

        QueryError when Coq refuses it.
        """
        reply = self._call("query", protocol.query_call(command, self.tip if at is None else at), timeout_s)
        if not reply.ok:
            raise QueryError(f"{command} {reply.error}")
        return reply.notices()

    def tactic_error(self, sentence: str, at: int, timeout_s: float | None) -> str | None:
        """Run one tactic sentence at state `at` as a query, which changes no state: Coq's error, or None
        when the tactic ran. A tactic that fails is thereby known without adding it to the document and
        going back (`edit_at` walks the whole document: milliseconds after a long file prefix).
        Raises ProcessUnsound (out of memory, stack overflow) like `goals`."""
        reply = self._call("tactic_query", protocol.query_call(sentence, at), timeout_s)
        if reply.ok:
            return None
        if _UNKNOWN_STATE.match(reply.error):
            raise ProcessUnsound(reply.error)
        return reply.error

    # ------------------------------------------------------------ trusted replay

    def add(self, sentence: str, timeout_s: float | None = None) -> Step:
        """Add and run one sentence; on failure the document is back where it was.

        Raises SessionCrashed when the process died or had to be killed.
        """
        timeout_s = timeout_s or self.settings.timeout_s
        before = self.tip
        messages: list[protocol.Message] = []
        try:
            state = self.append(sentence, timeout_s, messages)
            # Coq runs the sentence when something observes it: errors and
            # declarations are reported in the answer to Goal.
            goals = self.goals(timeout_s, messages)
        except (CoqError, ProcessUnsound) as exc:
            self._back_to(before)
            return Step(None, None, tuple(messages), str(exc))
        except CoqTimeout as exc:
            if not exc.recovered:
                raise SessionCrashed(f"no answer in {timeout_s:g} s; coqidetop was killed") from None
            self._back_to(before)
            return Step(None, None, tuple(messages), f"did not finish in {timeout_s:g} s", timed_out=True)
        return Step(state, goals, tuple(messages))

    def _back_to(self, state: int) -> None:
        try:
            self.edit_at(state, QUERY_TIMEOUT_S)
        except CoqError as exc:
            raise SessionCrashed(str(exc)) from None
        except CoqTimeout:
            raise SessionCrashed(f"cannot go back to state {state} in {QUERY_TIMEOUT_S:g} s") from None

    # ------------------------------------------------------------ names

    def _about(self, name: str, at: int | None, timeout_s: float | None) -> str | None:
        try:
            return self.query(f"About {name}.", at, timeout_s)
        except QueryError:
            return None

    def locate(
        self, name: str, at: int | None = None, timeout_s: float | None = QUERY_TIMEOUT_S
    ) -> tuple[str, str] | None:
        """(kind, fully qualified name) of the object `name` refers to in state `at`; None if none.

        Asked with `About`, which resolves the name as a term would; `Locate`
        also lists objects that merely end with it, visible or not.
        """
        answer = self._about(name, at, timeout_s)
        return parse_about(answer) if answer is not None else None

    def about(self, name: str, at: int | None = None, timeout_s: float | None = QUERY_TIMEOUT_S) -> About | None:
        """What `About name` says of the object `name` refers to; None for a notation, a module, or nothing."""
        answer = self._about(name, at, timeout_s)
        found = parse_about(answer) if answer is not None else None
        if answer is None or found is None:
            return None
        head = answer.split("\n\n", 1)[0]
        _, colon, typ = head.partition(":")
        if not colon:
            return None
        return About(found[1], found[0], typ.strip(), _OPAQUE.search(answer) is not None)

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
