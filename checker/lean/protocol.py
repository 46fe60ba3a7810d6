"""The Lean REPL's JSON protocol (leanprover-community/repl) as typed models.

Field names and shapes follow `REPL/JSON.lean` at the tags v4.9.0 to v4.33.0-rc2.
Every model forbids unknown fields, so a response that carries something this
module does not know fails to parse instead of silently losing it; Python
names are snake_case with the REPL's camelCase as aliases.

Framing: a request is one line of JSON followed by a blank line (from v4.22
the REPL joins the lines of a request without a separator, so a raw newline
inside a JSON string would vanish; `json.dumps` escapes it). A response is
Lean's pretty-printed JSON, possibly over several lines, followed by a blank
line; JSON strings never hold a raw newline, so a blank line ends a response.

Two error shapes exist: the REPL itself answers `{"message": ...}`
(`ReplError`: unknown environment or proof state, a tactic that Lean refused
in `tactic` mode), while Lean's errors inside a command come back as
`messages` of severity "error" in an ordinary response.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ReplModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """The wire form: camelCase keys, only the fields that were set."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# ---------------------------------------------------------------- responses


class Pos(ReplModel):
    line: int
    column: int


class Message(ReplModel):
    severity: Literal["error", "warning", "info", "trace"]
    pos: Pos
    end_pos: Pos | None = Field(default=None, validation_alias="endPos", serialization_alias="endPos")
    data: str

    def located(self) -> str:
        return f"{self.pos.line}:{self.pos.column}: {self.data}"


class Sorry(ReplModel):
    """A `sorry` in the input; `proof_state` lets a client continue from it."""

    pos: Pos | None = None
    end_pos: Pos | None = Field(default=None, validation_alias="endPos", serialization_alias="endPos")
    goal: str
    proof_state: int | None = Field(default=None, validation_alias="proofState", serialization_alias="proofState")


class TacticInfo(ReplModel):
    """One tactic of a command run with `allTactics`."""

    pos: Pos
    end_pos: Pos = Field(validation_alias="endPos", serialization_alias="endPos")
    goals: str
    tactic: str
    proof_state: int | None = Field(default=None, validation_alias="proofState", serialization_alias="proofState")
    used_constants: list[str] | None = Field(default=None, validation_alias="usedConstants", serialization_alias="usedConstants")


class SyntaxRange(ReplModel):
    synthetic: bool
    start: Pos
    finish: Pos


class InfoSyntax(ReplModel):
    pp: str | None
    range: SyntaxRange
    kind: str | None = None
    arg_kinds: list[str] | None = Field(default=None, validation_alias="argKinds", serialization_alias="argKinds")


class InfoNode(ReplModel):
    """A node of Lean's info tree: tactic nodes carry goals, term nodes an
    expression, command nodes an elaborator."""

    stx: InfoSyntax | None = None
    name: str | None = None
    goals_before: list[str] | None = Field(default=None, validation_alias="goalsBefore", serialization_alias="goalsBefore")
    goals_after: list[str] | None = Field(default=None, validation_alias="goalsAfter", serialization_alias="goalsAfter")
    elaborator: str | None = None
    expr: str | None = None
    expected_type: str | None = Field(default=None, validation_alias="expectedType", serialization_alias="expectedType")
    is_binder: bool | None = Field(default=None, validation_alias="isBinder", serialization_alias="isBinder")


class InfoTree(ReplModel):
    kind: str
    node: InfoNode | None = None
    children: list[InfoTree] = Field(default_factory=list)


SORRY_WARNING = re.compile(r"^declaration uses ['`]sorry['`]")  # 'sorry' up to v4.27, `sorry` from v4.28


class _Reported(ReplModel):
    messages: list[Message] = Field(default_factory=list)
    sorries: list[Sorry] = Field(default_factory=list)

    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.severity == "error"]

    def warnings(self) -> list[Message]:
        return [m for m in self.messages if m.severity == "warning"]

    def uses_sorry(self) -> bool:
        return bool(self.sorries) or any(
            m.severity == "warning" and SORRY_WARNING.match(m.data) for m in self.messages
        )


class CommandResponse(_Reported):
    """The answer to `cmd`, `path`, `pickleTo` with `env`, and `unpickleEnvFrom`.

    `env` is always present from the REPL itself; servers that run the REPL
    with garbage collection (Kimina's) may leave it out.
    """

    env: int | None = None
    tactics: list[TacticInfo] | None = None
    infotree: list[InfoTree] | None = None
    traces: list[str] | None = None


class ProofStatus:
    """Values of `proofStatus` (REPL v4.19 and later)."""

    COMPLETED = "Completed"
    OPEN_GOALS = "Incomplete: open goals remain"
    SORRY = "Incomplete: contains sorry"
    METAVARIABLES = "Incomplete: contains metavariable(s)"
    ERROR_PREFIX = "Error: "  # e.g. "Error: kernel type check failed: ..."


class ProofStepResponse(_Reported):
    """The answer to `tactic`, `pickleTo` with `proofState`, and `unpickleProofStateFrom`.

    `proof_status` exists from REPL v4.19 on; before that a proof is finished
    exactly when `goals` is empty and nothing in it is a sorry.
    """

    proof_state: int = Field(validation_alias="proofState", serialization_alias="proofState")
    goals: list[str]
    traces: list[str] | None = None
    proof_status: str | None = Field(default=None, validation_alias="proofStatus", serialization_alias="proofStatus")

    def finished(self) -> bool:
        if self.errors() or self.uses_sorry() or self.goals:
            return False
        return self.proof_status is None or self.proof_status == ProofStatus.COMPLETED


class ReplError(ReplModel):
    """The REPL's own error: `{"message": ...}`."""

    message: str


# ---------------------------------------------------------------- requests


class ReplRequest(ReplModel):
    response_type: ClassVar[type[CommandResponse] | type[ProofStepResponse]]

    def wire(self) -> str:
        """The text to write: one line of JSON (unset options left out) and a blank line."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return json.dumps(data, ensure_ascii=False) + "\n\n"


class _CommandOptions(ReplRequest):
    all_tactics: bool | None = Field(default=None, validation_alias="allTactics", serialization_alias="allTactics")
    root_goals: bool | None = Field(default=None, validation_alias="rootGoals", serialization_alias="rootGoals")
    infotree: str | None = None


class CommandRequest(_CommandOptions):
    """Run Lean commands; without `env` they start a fresh environment and may `import`."""

    response_type: ClassVar[type[CommandResponse] | type[ProofStepResponse]] = CommandResponse
    cmd: str
    env: int | None = None


class FileRequest(_CommandOptions):
    """Run a whole file; `env` (from v4.27) runs it on top of an environment."""

    response_type: ClassVar[type[CommandResponse] | type[ProofStepResponse]] = CommandResponse
    path: str
    env: int | None = None


class TacticRequest(ReplRequest):
    response_type: ClassVar[type[CommandResponse] | type[ProofStepResponse]] = ProofStepResponse
    tactic: str
    proof_state: int = Field(validation_alias="proofState", serialization_alias="proofState")


class PickleEnvRequest(ReplRequest):
    response_type: ClassVar[type[CommandResponse] | type[ProofStepResponse]] = CommandResponse
    pickle_to: str = Field(validation_alias="pickleTo", serialization_alias="pickleTo")
    env: int


class UnpickleEnvRequest(ReplRequest):
    response_type: ClassVar[type[CommandResponse] | type[ProofStepResponse]] = CommandResponse
    unpickle_env_from: str = Field(validation_alias="unpickleEnvFrom", serialization_alias="unpickleEnvFrom")


class PickleProofStateRequest(ReplRequest):
    response_type: ClassVar[type[CommandResponse] | type[ProofStepResponse]] = ProofStepResponse
    pickle_to: str = Field(validation_alias="pickleTo", serialization_alias="pickleTo")
    proof_state: int = Field(validation_alias="proofState", serialization_alias="proofState")


class UnpickleProofStateRequest(ReplRequest):
    response_type: ClassVar[type[CommandResponse] | type[ProofStepResponse]] = ProofStepResponse
    unpickle_proof_state_from: str = Field(validation_alias="unpickleProofStateFrom", serialization_alias="unpickleProofStateFrom")
    env: int | None = None


# In the order the REPL tries them (REPL/Main.lean): the first whose required
# fields are all present wins.
REQUEST_TYPES: tuple[type[ReplRequest], ...] = (
    TacticRequest,
    PickleEnvRequest,
    UnpickleEnvRequest,
    PickleProofStateRequest,
    UnpickleProofStateRequest,
    CommandRequest,
    FileRequest,
)

Response = Union[CommandResponse, ProofStepResponse, ReplError]


class ProtocolError(ValueError):
    """Something that is not a well-formed REPL message."""


def parse_request(data: dict[str, Any]) -> ReplRequest:
    """The typed request the REPL would read from this JSON object."""
    for kind in REQUEST_TYPES:
        try:
            return kind.model_validate(data)
        except ValidationError:
            continue
    raise ProtocolError(f"not a REPL request: {json.dumps(data)[:200]}")


def parse_response(request: ReplRequest, text: str) -> Response:
    """Parse one response block for `request` into its typed model."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"REPL answered with something that is not JSON ({exc.msg}): {text[:300]!r}") from None
    return response_from_json(request.response_type, data)


def response_from_json(expected: type[CommandResponse] | type[ProofStepResponse], data: Any) -> Response:
    if not isinstance(data, dict):
        raise ProtocolError(f"REPL answered with a JSON {type(data).__name__}, expected an object")
    model = ReplError if "message" in data else expected
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(f"unexpected {model.__name__} from the REPL: {exc}") from None
