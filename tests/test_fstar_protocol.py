"""The typed F* IDE protocol against every recorded line of the upstream transcripts.

The recorded expected files were normalised by upstream's cleanup script
(sorted keys, basenames, universe names, protocol-info reduced, progress
lines dropped; see tests/fixtures/fstar_ide/README.md), so they are read as
JSON Lines and compared as JSON values, never as bytes.
"""

import json

import pytest

from proofsmith.checker.fstar.protocol import (
    WARN_ON_USE,
    CompletionResponse,
    IssuesResponse,
    LookupResponse,
    NullResponse,
    OpaqueMessage,
    Pop,
    ProofStateMessage,
    ProtocolError,
    ProtocolInfo,
    Push,
    PushPartialCheckedFile,
    RawQuery,
    RawResponse,
    SegmentResponse,
    SymbolInfo,
    TextMessage,
    TextResponse,
    VfsAdd,
    decode_line,
    parse_incoming,
    parse_request,
)

from .fstar_replay import FIXTURES, RESPONSES_ONLY, expected_lines, transcripts

PAIRS = transcripts()


def pair_id(pair):
    return pair[1].relative_to(FIXTURES).as_posix()


def requests_of(transcript_in):
    return [json.loads(line) for line in transcript_in.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_recorded_file_is_used():
    expected = {p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*expected")}
    used = {pair_id(p) for p in PAIRS} | set(RESPONSES_ONLY)
    assert expected == used
    assert len(PAIRS) == 16


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_requests_parse_into_typed_queries(pair):
    for data in requests_of(pair[0]):
        query_id, query = parse_request(data)
        assert query_id == data["query-id"] and query.query == data["query"]
        # what F* reads: null arguments are absent, keys beside the three are ignored
        wire = json.loads(query.wire(query_id))
        assert wire["args"] == {k: v for k, v in data["args"].items() if v is not None or query.query == "vfs-add"}


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_every_recorded_line_parses_with_no_field_lost(pair):
    types = {}
    for data in requests_of(pair[0]):
        query_id, query = parse_request(data)
        types[query_id] = query.response_type
    lines = expected_lines(pair[1])
    assert lines, "a transcript without answers"
    for data in lines:
        item = parse_incoming(data, types.get(data.get("query-id"), RawResponse))
        assert item.to_json() == data


def test_normalised_greeting_is_recognised_but_the_real_one_is_typed():
    normalised = json.loads((FIXTURES / "emacs" / "Missing.ideout.expected").read_text().splitlines()[0])
    assert normalised == {"kind": "protocol-info", "rest": "[...]"}
    with pytest.raises(ProtocolError):
        parse_incoming(normalised)  # what cleanup.py left is not what F* sends
    for version in (2, 3):
        hello = parse_incoming(decode_line(json.dumps({"kind": "protocol-info", "version": version, "features": ["push"]})))
        assert isinstance(hello, ProtocolInfo) and hello.version == version


def test_responses_without_requests_parse():
    """No `.in` survived upstream for these; their queries are known from the README."""
    tutorial = expected_lines(FIXTURES / RESPONSES_ONLY[0])
    for data in tutorial:
        kind = NullResponse if data["query-id"].startswith("a") else IssuesResponse  # a1..a12 are pops
        item = parse_incoming(data, kind)
        assert item.to_json() == data
    warned = parse_incoming(tutorial[10], IssuesResponse)
    assert warned.ok and warned.issues()[0].number == 272 and warned.issues()[0].level == "warning"
    too_many = parse_incoming(tutorial[-1], NullResponse)
    assert not too_many.ok and too_many.failure_text() == "Too many pops"

    push, complete, lookup = expected_lines(FIXTURES / RESPONSES_ONLY[1])
    assert parse_incoming(push, IssuesResponse).to_json() == push
    completion = parse_incoming(complete, CompletionResponse)
    assert completion.response == [(3, "", "hello"), (0, "<search term>", "hel")]
    symbol = parse_incoming(lookup, LookupResponse).response
    assert isinstance(symbol, SymbolInfo) and symbol.defined_at.fname == "Minimal.fst"


def lines_of(name):
    return expected_lines(FIXTURES / name)


def test_issue_shapes_and_push_semantics():
    selfref = lines_of("emacs/Harness.selfref.ideout.expected")
    loaded = parse_incoming(selfref[0], IssuesResponse)
    assert loaded.ok and loaded.issues() == []
    failed = parse_incoming(selfref[1], IssuesResponse)
    assert failed.status == "failure"
    (issue,) = failed.errors()
    assert issue.number == 19 and [r.located() for r in issue.ranges] == ["<input>:1.35-1.37", "<input>:1.25-1.32"]
    assert issue.located().startswith("<input>:1.35-1.37: Error 19: - Could not prove post-condition")
    # a peek reports errors with status success; the same code pushed fails
    gh73 = lines_of("emacs/FStarMode_GH73.ideout.expected")
    peeked, pushed = parse_incoming(gh73[1], IssuesResponse), parse_incoming(gh73[2], IssuesResponse)
    assert peeked.ok and peeked.errors() and not pushed.ok and pushed.errors()[0].number == 189
    # an issue may point into another file
    number = parse_incoming(lines_of("emacs/Number.interface-violation-and-fix.ideout.expected")[2], IssuesResponse)
    assert [r.fname for r in number.issues()[0].ranges] == ["<input>", "Number.fsti"]
    assert WARN_ON_USE == 335


def test_proof_state_message():
    gh73 = lines_of("emacs/FStarMode_GH73.ideout.expected")
    message = parse_incoming(gh73[4])
    assert isinstance(message, ProofStateMessage) and message.query_id == "5"
    state = message.contents
    assert state.label == "at the time of failure" and state.depth == 0 and state.urgency == 1
    assert state.goals[0].goal.type == "bool" and state.goals[0].hyps == [] and state.smt_goals == []
    assert state.location.located() == "<input>:4.14-4.57"


def test_text_messages_and_strings_as_responses():
    (error,) = [parse_incoming(d) for d in lines_of("emacs/Search.cons-snoc.ideout.expected") if d["kind"] == "message"]
    assert isinstance(error, TextMessage) and error.level == "error" and "Error 147" in error.contents
    violation = parse_incoming(lines_of("emacs/Minimal.describe-repl.ideout.expected")[0])
    assert violation.status == "protocol-violation" and violation.failure_text() == "Unknown query 'repl-info'"
    missing = parse_incoming(lines_of("emacs/InfoTable.lookup.ideout.expected")[2], LookupResponse)
    assert missing.failure_text() == "No such symbol, module, or namespace."
    computed = parse_incoming(lines_of("emacs/fib.compute.out.expected")[1], TextResponse)
    assert computed.response == "8 <: int"
    segments = parse_incoming(lines_of("emacs/Tutorial.segment.ideout.expected")[0], SegmentResponse).response
    assert len(segments.decls) == 21 and segments.decls[0].def_range.beg == (1, 1)


def test_lookup_documentation_and_nulls():
    docs = [parse_incoming(d, LookupResponse).response for d in lines_of("docs/DocsClient.lookup.ideout.expected")[1:]]
    assert '"quoted"' in docs[0].documentation and "\n" in docs[0].documentation
    assert docs[2].defined_at is None and docs[2].type == "Type0"
    sugar = parse_incoming(lines_of("docs/DocsSugar.lookup.ideout.expected")[3], LookupResponse).response
    assert sugar.type is None and sugar.documentation == "Doubles 'x'."


def test_unknown_messages_are_kept_whole_and_bad_lines_refused():
    odd = parse_incoming({"kind": "message", "query-id": None, "level": "debug", "contents": {"x": [1, 2]}})
    assert isinstance(odd, OpaqueMessage) and odd.to_json()["contents"] == {"x": [1, 2]}
    structured_error = parse_incoming({"kind": "message", "query-id": "1", "level": "error", "contents": {"a": 1}})
    assert isinstance(structured_error, OpaqueMessage) and structured_error.level == "error"
    for bad in ("[1, 2]", "{not json", '"text"'):
        with pytest.raises(ProtocolError):
            decode_line(bad)
    with pytest.raises(ProtocolError):
        parse_incoming({"kind": "response", "query-id": "1", "status": "success", "response": [], "extra": 1}, IssuesResponse)
    with pytest.raises(ProtocolError):
        parse_incoming({"kind": "gossip"})


def test_request_wire_form():
    push = Push(kind="full", code='let x = "a"\n', line=1, column=0)
    assert json.loads(push.wire("7")) == {"query-id": "7", "query": "push",
                                          "args": {"kind": "full", "code": 'let x = "a"\n', "line": 1, "column": 0}}
    assert push.wire("7").count("\n") == 1  # one line, whatever the code holds
    assert json.loads(PushPartialCheckedFile(until_lid="A.b").wire("1"))["args"] == {"until-lid": "A.b"}
    assert json.loads(VfsAdd(filename=None, contents="module A").wire("1"))["args"] == {"filename": None, "contents": "module A"}
    assert json.loads(Pop().wire("2"))["args"] == {}
    _, unknown = parse_request({"query-id": "1", "query": "repl-info", "args": {}})
    assert isinstance(unknown, RawQuery) and json.loads(unknown.wire("1"))["query"] == "repl-info"
    with pytest.raises(ProtocolError):
        parse_request({"query-id": "1", "query": "push", "args": {"kind": "full"}})
