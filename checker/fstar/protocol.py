"""F*'s `--ide` protocol (`fstar.exe --ide FILE`) as typed models.

Framing: one JSON object per line in both directions. F* greets with
`{"kind": "protocol-info", "version", "features"}` (the version is read, never
assumed: 2 and 3 are both in use), then answers each request
`{"query-id", "query", "args"}` with any number of
`{"kind": "message", "query-id", "level", "contents"}` lines and one
`{"kind": "response", "query-id", "status", "response"}` (F*'s own sources:
src/interactive/FStarC.Interactive.Ide.fst). Exceptions the client must expect:
`full-buffer` answers with several responses and ends with a `progress`
message of stage `full-buffer-finished`; `restart-solver` and `cancel` get no
answer at all; and a process can fall silent after a message
(tests/fixtures/fstar_ide/emacs/Search.cons-snoc).

Every response model forbids unknown fields, so an answer with something this
module does not know fails to parse instead of losing it. Python names are
snake_case, with F*'s hyphenated keys as aliases. The shape of `response`
depends on the query, so each query names its response model; every one of
them also admits a plain string, which is what F* sends on a protocol
violation or a generic failure ("Too many pops", "Current module unset").
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

# The warning F* raises, with `--report_assumes warn`, for every admitted or
# assumed fact and every use of an escape hatch (Warning_WarnOnUse in
# FStarC.Errors.Codes; 335 from 2023 to today, and the number the
# FStarDataSet harness tests).
WARN_ON_USE = 335


class IdeModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_json(self) -> Any:
        """The wire form: F*'s keys, every field that was present."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class ProtocolError(ValueError):
    """A line that is not a well-formed message of the protocol."""


# ---------------------------------------------------------------- shared pieces

Position = tuple[int, int]  # line (1-based), column (0-based)


class Range(IdeModel):
    fname: str
    beg: Position
    end: Position

    def located(self) -> str:
        return f"{self.fname}:{self.beg[0]}.{self.beg[1]}-{self.end[0]}.{self.end[1]}"


class Issue(IdeModel):
    """One diagnostic of a push, peek or partial-checked-file load."""

    level: Literal["error", "warning", "info", "not-implemented"]
    # F*'s own type marks the number optional (the FStarDataSet harness
    # crashed on issues without one).
    number: int | None = None
    message: str
    ranges: list[Range]

    @property
    def is_error(self) -> bool:
        # F* counts "not-implemented" as an error too (run_push_without_deps).
        return self.level in ("error", "not-implemented")

    def located(self) -> str:
        where = f"{self.ranges[0].located()}: " if self.ranges else ""
        number = f"Error {self.number}" if self.is_error else f"Warning {self.number}"
        head = f"{number}: " if self.number is not None else ""
        return f"{where}{head}{self.message.strip()}"


Status = Literal["success", "failure", "protocol-violation"]


# ---------------------------------------------------------------- greeting


class ProtocolInfo(IdeModel):
    kind: Literal["protocol-info"]
    version: int
    features: list[str]


# ---------------------------------------------------------------- messages


class Hypothesis(IdeModel):
    name: str
    type: str


class GoalTerm(IdeModel):
    witness: str
    type: str
    label: str


class ProofGoal(IdeModel):
    hyps: list[Hypothesis]
    goal: GoalTerm


class ProofState(IdeModel):
    """A tactic's proof state: sent on failures and on `dump`."""

    label: str
    depth: int
    urgency: int
    goals: list[ProofGoal]
    smt_goals: list[ProofGoal] = Field(validation_alias="smt-goals", serialization_alias="smt-goals")
    location: Range | None = None


class CodeFragment(IdeModel):
    range: Range
    code_digest: str = Field(validation_alias="code-digest", serialization_alias="code-digest")


class Progress(IdeModel):
    """Progress of dependency loading and of full-buffer checking."""

    stage: str | None
    modname: str | None = None
    ranges: Range | None = None
    code_fragment: CodeFragment | None = Field(default=None, validation_alias="code-fragment", serialization_alias="code-fragment")


class _Message(IdeModel):
    kind: Literal["message"]
    query_id: str | None = Field(validation_alias="query-id", serialization_alias="query-id")


class TextMessage(_Message):
    level: Literal["error", "warning", "info"]
    contents: str


class ProofStateMessage(_Message):
    level: Literal["proof-state"]
    contents: ProofState


class ProgressMessage(_Message):
    level: Literal["progress"]
    contents: Progress


class OpaqueMessage(_Message):
    """Any other message (F*'s printer forwards arbitrary labels and JSON):
    kept whole, never interpreted, except that an `error` level always counts."""

    level: str
    contents: JsonValue


Message = Union[TextMessage, ProofStateMessage, ProgressMessage, OpaqueMessage]

_MESSAGE_TYPES: dict[str, type[TextMessage] | type[ProofStateMessage] | type[ProgressMessage]] = {
    "error": TextMessage,
    "warning": TextMessage,
    "info": TextMessage,
    "proof-state": ProofStateMessage,
    "progress": ProgressMessage,
}


def is_error_message(message: Message) -> bool:
    return message.level == "error"


def message_text(message: Message) -> str:
    if isinstance(message, TextMessage):
        return message.contents.strip()
    if isinstance(message, ProofStateMessage):
        return f"proof state ({message.contents.label})"
    return json.dumps(message.to_json()["contents"], ensure_ascii=False)


# ---------------------------------------------------------------- responses


class Response(IdeModel):
    kind: Literal["response"]
    query_id: str = Field(validation_alias="query-id", serialization_alias="query-id")
    status: Status
    response: JsonValue

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def failure_text(self) -> str | None:
        """F*'s own words when the response is a plain string (a violation or a generic failure)."""
        return self.response if isinstance(self.response, str) else None


class RawResponse(Response):
    """The answer to a query this module does not model (RawQuery)."""


class IssuesResponse(Response):
    """push, peek, push-partial-checked-file, full-buffer: the diagnostics."""

    response: list[Issue] | str

    def issues(self) -> list[Issue]:
        return self.response if isinstance(self.response, list) else []

    def errors(self) -> list[Issue]:
        return [i for i in self.issues() if i.is_error]


class NullResponse(Response):
    """pop, vfs-add, exit: `null` on success, a string on failure ("Too many pops")."""

    response: None | str


class TextResponse(Response):
    """compute: the normal form, as text."""

    response: str


class SymbolInfo(IdeModel):
    kind: Literal["symbol"]
    name: str
    type: str | None = None
    documentation: str | None = None
    definition: str | None = None
    defined_at: Range | None = Field(default=None, validation_alias="defined-at", serialization_alias="defined-at")
    # echoed back only when the request carried a symbol-range
    symbol_range: JsonValue = Field(default=None, validation_alias="symbol-range", serialization_alias="symbol-range")
    symbol: str | None = None


class ModuleInfo(IdeModel):
    kind: Literal["module"]
    name: str
    path: str
    loaded: bool


class NamespaceInfo(IdeModel):
    kind: Literal["namespace"]
    name: str
    loaded: bool


class OptionInfo(IdeModel):
    kind: Literal["option"]
    name: str
    signature: str
    value: JsonValue
    default: JsonValue
    documentation: str | None
    type: str
    permission_level: str = Field(validation_alias="permission-level", serialization_alias="permission-level")


class LookupResponse(Response):
    response: Union[SymbolInfo, ModuleInfo, NamespaceInfo, OptionInfo, str] = Field(union_mode="left_to_right")


Completion = tuple[int, str, str]  # match length, annotation, candidate


class CompletionResponse(Response):
    response: list[Completion] | str


class SearchHit(IdeModel):
    lid: str
    type: str


class SearchResponse(Response):
    response: list[SearchHit] | str


class Declaration(IdeModel):
    def_range: Range


class Segments(IdeModel):
    decls: list[Declaration]


class SegmentResponse(Response):
    response: Segments | list[Issue] | str


class ProtocolDescription(IdeModel):
    version: int
    features: list[str]


class ProtocolResponse(Response):
    response: ProtocolDescription | str


class OptionState(IdeModel):
    name: str
    signature: str
    value: JsonValue
    default: JsonValue
    documentation: str | None
    type: str
    permission_level: str = Field(validation_alias="permission-level", serialization_alias="permission-level")


class ReplDescription(IdeModel):
    loaded_dependencies: list[str] = Field(validation_alias="loaded-dependencies", serialization_alias="loaded-dependencies")
    options: list[OptionState]


class ReplResponse(Response):
    response: ReplDescription | str


class Formatted(IdeModel):
    formatted_code: str | None = Field(default=None, validation_alias="formatted-code", serialization_alias="formatted-code")
    formatted_code_issue: list[Issue] | None = Field(default=None, validation_alias="formatted-code-issue", serialization_alias="formatted-code-issue")


class FormatResponse(Response):
    response: Formatted | str


# ---------------------------------------------------------------- requests


class Query(IdeModel):
    """A request; the model's fields are its `args`."""

    query: ClassVar[str]
    response_type: ClassVar[type[Response] | None] = RawResponse  # None: F* never answers

    def args(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def wire(self, query_id: str) -> str:
        """The line to write: compact JSON, F*'s own framing."""
        data = {"query-id": query_id, "query": self.query, "args": self.args()}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


PushKind = Literal["syntax", "lax", "full"]


class Push(Query):
    """Check a fragment and keep it on F*'s stack if it succeeds (a failed push leaves nothing)."""

    query: ClassVar[str] = "push"
    response_type: ClassVar[type[Response]] = IssuesResponse
    kind: PushKind
    code: str
    line: int
    column: int


class Peek(Push):
    """Check a fragment and roll it back whatever happens; errors come with status success."""

    query: ClassVar[str] = "peek"


class PushPartialCheckedFile(Query):
    """Load the current file's `.checked` declarations up to (not including) `until_lid`."""

    query: ClassVar[str] = "push-partial-checked-file"
    response_type: ClassVar[type[Response]] = IssuesResponse
    until_lid: str = Field(validation_alias="until-lid", serialization_alias="until-lid")


class Pop(Query):
    query: ClassVar[str] = "pop"
    response_type: ClassVar[type[Response]] = NullResponse


class VfsAdd(Query):
    """Give F* the contents of a file (None: the file F* was started on)."""

    query: ClassVar[str] = "vfs-add"
    response_type: ClassVar[type[Response]] = NullResponse
    filename: str | None
    contents: str

    def args(self) -> dict[str, Any]:
        return {"filename": self.filename, "contents": self.contents}


class Location(IdeModel):
    filename: str
    line: int
    column: int


LookupInfo = Literal["type", "documentation", "defined-at", "definition"]


class Lookup(Query):
    query: ClassVar[str] = "lookup"
    response_type: ClassVar[type[Response]] = LookupResponse
    symbol: str
    requested_info: list[LookupInfo] = Field(validation_alias="requested-info", serialization_alias="requested-info")
    context: str | None = None
    location: Location | None = None
    symbol_range: Range | None = Field(default=None, validation_alias="symbol-range", serialization_alias="symbol-range")


class Autocomplete(Query):
    query: ClassVar[str] = "autocomplete"
    response_type: ClassVar[type[Response]] = CompletionResponse
    partial_symbol: str = Field(validation_alias="partial-symbol", serialization_alias="partial-symbol")
    context: str | None = None


class Compute(Query):
    query: ClassVar[str] = "compute"
    response_type: ClassVar[type[Response]] = TextResponse
    term: str
    rules: list[str] | None = None


class Search(Query):
    query: ClassVar[str] = "search"
    response_type: ClassVar[type[Response]] = SearchResponse
    terms: str


class Segment(Query):
    query: ClassVar[str] = "segment"
    response_type: ClassVar[type[Response]] = SegmentResponse
    code: str


class ToPosition(IdeModel):
    line: int
    column: int


class FullBuffer(Query):
    """Check a whole buffer fragment by fragment: several responses, then a
    `full-buffer-finished` progress message."""

    query: ClassVar[str] = "full-buffer"
    response_type: ClassVar[type[Response]] = IssuesResponse
    kind: Literal["full", "lax", "cache", "reload-deps", "verify-to-position", "lax-to-position"]
    code: str
    line: int
    column: int
    with_symbols: bool | None = Field(default=None, validation_alias="with-symbols", serialization_alias="with-symbols")  # required by F* from 2023
    to_position: ToPosition | None = Field(default=None, validation_alias="to-position", serialization_alias="to-position")


class Format(Query):
    query: ClassVar[str] = "format"
    response_type: ClassVar[type[Response]] = FormatResponse
    code: str


class DescribeProtocol(Query):
    query: ClassVar[str] = "describe-protocol"
    response_type: ClassVar[type[Response]] = ProtocolResponse


class DescribeRepl(Query):
    query: ClassVar[str] = "describe-repl"
    response_type: ClassVar[type[Response]] = ReplResponse


class Exit(Query):
    query: ClassVar[str] = "exit"
    response_type: ClassVar[type[Response]] = NullResponse


class RestartSolver(Query):
    query: ClassVar[str] = "restart-solver"
    response_type: ClassVar[type[Response] | None] = None


class Cancel(Query):
    query: ClassVar[str] = "cancel"
    response_type: ClassVar[type[Response] | None] = None
    cancel_line: int = Field(validation_alias="cancel-line", serialization_alias="cancel-line")
    cancel_column: int = Field(validation_alias="cancel-column", serialization_alias="cancel-column")


class RawQuery(IdeModel):
    """A query this module does not model, sent verbatim (protocol tests; F*
    answers an unknown one with status protocol-violation)."""

    name: str
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    response_type: ClassVar[type[Response]] = RawResponse

    @property
    def query(self) -> str:
        return self.name

    def args(self) -> dict[str, Any]:
        return dict(self.arguments)

    def wire(self, query_id: str) -> str:
        data = {"query-id": query_id, "query": self.name, "args": self.arguments}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


QUERY_TYPES: dict[str, type[Query]] = {
    q.query: q
    for q in (Push, Peek, PushPartialCheckedFile, Pop, VfsAdd, Lookup, Autocomplete, Compute, Search, Segment,
              FullBuffer, Format, DescribeProtocol, DescribeRepl, Exit, RestartSolver, Cancel)
}

AnyQuery = Union[Query, RawQuery]


def parse_request(data: dict[str, Any]) -> tuple[str, AnyQuery]:
    """The query-id and typed query of a request line's JSON.

    F* reads an argument that is `null` as absent (FStarC.Interactive.Ide,
    `try_arg`) and ignores keys beside query-id, query and args (the upstream
    tests send a "comment"), so those are dropped here.
    """
    try:
        query_id, name, args = data["query-id"], data["query"], data.get("args", {})
    except (KeyError, TypeError):
        raise ProtocolError(f"not an F* request: {json.dumps(data)[:200]}") from None
    if not isinstance(args, dict):
        raise ProtocolError(f"request {query_id}: args must be an object")
    present = {k: v for k, v in args.items() if v is not None}
    kind = QUERY_TYPES.get(name)
    if kind is None:
        return str(query_id), RawQuery(name=name, arguments=args)
    if kind is VfsAdd:
        present.setdefault("filename", None)
    try:
        return str(query_id), kind.model_validate(present)
    except ValidationError as exc:
        raise ProtocolError(f"request {query_id} ({name}) does not fit the protocol: {exc}") from None


# ---------------------------------------------------------------- reading lines

Incoming = Union[ProtocolInfo, Message, Response]


def decode_line(line: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"F* sent a line that is not JSON ({exc.msg}): {line[:300]!r}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"F* sent a JSON {type(data).__name__}, expected an object: {line[:300]!r}")
    return data


def parse_message(data: dict[str, Any]) -> Message:
    level = data.get("level")
    model = _MESSAGE_TYPES.get(level, OpaqueMessage) if isinstance(level, str) else OpaqueMessage
    try:
        return model.model_validate(data)
    except ValidationError:
        if model is OpaqueMessage:
            raise ProtocolError(f"malformed message from F*: {json.dumps(data)[:300]}") from None
    # A known level with contents of another shape (F*'s generic printer): kept whole.
    try:
        return OpaqueMessage.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(f"malformed message from F*: {exc}") from None


def parse_incoming(data: dict[str, Any], response_type: type[Response] = RawResponse) -> Incoming:
    """Type one line F* sent; a `response` is parsed as `response_type` (the pending query's)."""
    kind = data.get("kind")
    try:
        if kind == "protocol-info":
            return ProtocolInfo.model_validate(data)
        if kind == "message":
            return parse_message(data)
        if kind == "response":
            return response_type.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(f"unexpected {kind} from F*: {exc}") from None
    raise ProtocolError(f"F* sent an object of unknown kind {kind!r}: {json.dumps(data)[:300]}")
