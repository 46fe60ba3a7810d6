"""The vocabulary every backend speaks: theorems, goals, tactic and check results.

Everything here is a small frozen dataclass so that results can be hashed,
compared, cached and sent across processes (Ray, multiprocessing) unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

# A logical module name as a load may give it: dot-separated Coq identifiers, nothing else.
_MODULE_NAME = re.compile(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*")


class Verdict(str, Enum):
    PROVED = "proved"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class Source:
    """Where a theorem comes from: repository, commit and path inside it."""

    repo: str = ""
    commit: str = ""
    path: str = ""


@dataclass(frozen=True)
class Place:
    """Where a theorem stands in a Coq project, to be proved in its own context.

    `project` is `stdlib` or a folder holding a `_CoqProject`; `file` is the
    `.v` file inside it (stdlib: `theories/Arith/PeanoNat.v`); `line` is the
    first line of the statement, needed only when the name is ambiguous.

    `loads` are logical modules the checker itself Requires inside the proof,
    right after the statement and before any tactic (`Require Import
    Coq.micromega.Lia.`), in the interactive proof and in the whole-proof
    check alike: trusted text, like the file above, never proof text (the
    guard still refuses a `Require` in a proof). The statement is elaborated
    before them, exactly as without. Only eval sets them, from
    prover.decision_procedures.leak_check (decision procedures loaded where
    that cannot leak); empty is the strict in-file context.
    """

    project: str
    file: str
    line: int | None = None
    loads: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        bad = [m for m in self.loads if not isinstance(m, str) or not _MODULE_NAME.fullmatch(m)]
        if bad:
            raise ValueError(f"Place.loads: {bad[0]!r} is not a logical module name (e.g. Coq.micromega.Lia)")
        object.__setattr__(self, "loads", tuple(self.loads))

    @property
    def load_sentence(self) -> str:
        """The sentence that loads `loads` ("" for none)."""
        return f"Require Import {' '.join(self.loads)}." if self.loads else ""


@dataclass(frozen=True)
class Theorem:
    """A statement to prove.

    `header` is everything that precedes the theorem in its source file
    (imports, scopes, auxiliary definitions); `statement` is the full
    declaration text, e.g. ``Theorem t (n : nat) : n + 0 = n.`` for Coq or
    ``theorem t (n : Nat) : n + 0 = n`` for Lean (without ``:= by ...``).
    A Coq theorem may name a `place` instead: its header is then the file up
    to the statement, replayed as that file's own module (checker.coq.file_context),
    `name` is its qualified name and `statement` the file's own text.
    """

    name: str
    statement: str
    header: str = ""
    backend: str = "coq"
    source: Source | None = None
    informal: str | None = None
    place: Place | None = None

    @property
    def context_key(self) -> str:
        """What a session must have loaded to prove this theorem: its header, or its file."""
        if self.place is None:
            return self.header
        return f"file:{self.place.project}:{self.place.file}"


@dataclass(frozen=True)
class Hypothesis:
    names: tuple[str, ...]
    type: str
    body: str | None = None

    def pretty(self) -> str:
        names = ", ".join(self.names)
        if self.body is not None:
            return f"{names} := {self.body} : {self.type}"
        return f"{names} : {self.type}"


GOAL_SEPARATOR = "============================"


@dataclass(frozen=True)
class Goal:
    hypotheses: tuple[Hypothesis, ...]
    target: str

    def pretty(self) -> str:
        lines = [h.pretty() for h in self.hypotheses]
        lines.append(GOAL_SEPARATOR)
        lines.append(self.target)
        return "\n".join(lines)


def render_goals(goals: tuple[Goal, ...]) -> str:
    """The text a model reads: every goal with its context, blank-line separated."""
    if not goals:
        return "no goals"
    return "\n\n".join(g.pretty() for g in goals)


@dataclass(frozen=True)
class GoalState:
    """A point in a proof.

    `handle` is opaque and only meaningful to the session that produced it
    (a Coq state id, a Lean proofState index). `text` is the pretty-printed
    goals, which is what models read and what search de-duplicates on.
    """

    handle: Hashable
    goals: tuple[Goal, ...]
    text: str
    # Goals that exist but are not in focus (unfocused bullets, shelved).
    # A proof is finished only when both are empty.
    pending: int = 0

    @property
    def is_finished(self) -> bool:
        return not self.goals and self.pending == 0


@dataclass(frozen=True)
class NextState:
    state: GoalState


@dataclass(frozen=True)
class ProofFinished:
    state: GoalState


@dataclass(frozen=True)
class TacticError:
    message: str


@dataclass(frozen=True)
class TacticTimeout:
    message: str = "tactic timed out"


TacticResult = NextState | ProofFinished | TacticError | TacticTimeout


@dataclass(frozen=True)
class CheckerInfo:
    """Which checker judged a proof: recorded with every result."""

    backend: str
    version: str
    prelude: str = ""


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    reason: str = ""
    axioms: tuple[str, ...] = ()
    time_s: float = 0.0
    messages: tuple[str, ...] = ()
    checker: CheckerInfo | None = None

    @property
    def proved(self) -> bool:
        return self.verdict is Verdict.PROVED

    def to_record(self, name: str) -> dict[str, Any]:
        """The JSON line `proofsmith check` writes for this result."""
        return {
            "name": name,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "axioms": list(self.axioms),
            "time_s": round(self.time_s, 4),
        }

    def checker_record(self) -> dict[str, Any]:
        return asdict(self.checker) if self.checker else {}


@dataclass(frozen=True)
class ProofTask:
    """One item of a batched check."""

    theorem: Theorem
    proof: str
    timeout_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
