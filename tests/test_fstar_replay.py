"""Every recorded transcript through the real F* client (checker.fstar.process), served by tests/fstar_replay.py.

The client sends each recorded request as a typed query; the stand-in checks
it is the recorded one and answers with the recorded lines; the client's
answer must be exactly the recorded one, messages included.
"""

import json
import logging
import sys
import time

import pytest

from proofsmith.checker.backend import SessionCrashed
from proofsmith.checker.fstar.process import FStarIde, FStarMemoryExceeded, FStarTimeout
from proofsmith.checker.fstar.protocol import FullBuffer, IssuesResponse, Push, Search, TextMessage, parse_request

from .fstar_replay import FIXTURES, expected_lines, transcripts

REPLAY = str(FIXTURES.parent.parent / "fstar_replay.py")
PAIRS = transcripts()


def stand_in(*args, file="Test.fst"):
    return [sys.executable, "-S", REPLAY, *map(str, args), "--ide", file, "--report_assumes", "warn"]


def pair_id(pair):
    return pair[1].relative_to(FIXTURES).as_posix()


def recorded_requests(transcript_in):
    return [parse_request(json.loads(line)) for line in transcript_in.read_text(encoding="utf-8").splitlines() if line.strip()]


def recorded_answers(expected):
    answers = {}
    for line in expected_lines(expected):
        answers.setdefault(line["query-id"], []).append(line)
    return answers


SILENT = "emacs/Search.cons-snoc.ideout.expected"
MANY_RESPONSES = "emacs/old/FullBuffer.full-buffer.ideout.expected"


@pytest.mark.parametrize("pair", [p for p in PAIRS if pair_id(p) not in (SILENT, MANY_RESPONSES)], ids=pair_id)
def test_transcript_replays_through_the_client(pair):
    transcript_in, expected = pair
    answers = recorded_answers(expected)
    ide = FStarIde(stand_in("--pair", transcript_in, expected))
    try:
        assert ide.protocol.version == 2 and "push" in ide.protocol.features
        for query_id, query in recorded_requests(transcript_in):
            answer = ide.call(query, timeout_s=10, query_id=query_id)
            got = [m.to_json() for m in answer.messages] + [answer.response.to_json()]
            assert got == answers[query_id], f"query {query_id}"
            assert answer.response.query_id == query_id
        assert ide.alive
    finally:
        ide.kill()


def test_full_buffer_collects_every_response():
    (pair,) = [p for p in PAIRS if pair_id(p) == MANY_RESPONSES]
    ide = FStarIde(stand_in("--pair", *pair))
    try:
        (_, vfs), (_, full) = recorded_requests(pair[0])
        assert ide.call(vfs, timeout_s=10).response.ok
        assert isinstance(full, FullBuffer)
        answer = ide.full_buffer(full, timeout_s=10)
        assert [r.to_json() for r in answer.responses] == recorded_answers(pair[1])["2"]
        assert all(isinstance(r, IssuesResponse) for r in answer.responses)
        assert answer.responses[-1].errors()[0].number == 189
        assert answer.messages[-1].contents.stage == "full-buffer-finished"
    finally:
        ide.kill()


def test_silent_process_times_out_with_what_it_said():
    """F* answered the push, sent one error message for the search, then nothing (recorded)."""
    (pair,) = [p for p in PAIRS if pair_id(p) == SILENT]
    ide = FStarIde(stand_in("--pair", *pair))
    (_, push), (_, search), *_ = recorded_requests(pair[0])
    assert ide.call(push, timeout_s=10).response.ok
    t0 = time.monotonic()
    with pytest.raises(FStarTimeout) as silent:
        ide.call(search, timeout_s=0.5)
    assert time.monotonic() - t0 < 5
    (said,) = silent.value.messages
    assert isinstance(said, TextMessage) and "Error 147" in said.contents
    assert not ide.alive
    with pytest.raises(SessionCrashed):
        ide.call(Search(terms="cons"), timeout_s=1)
    ide.restart()  # the same command again: a fresh stand-in, greeting and all
    assert ide.alive and ide.call(push, timeout_s=10).response.ok
    ide.kill()


@pytest.mark.parametrize("version", [2, 3])
def test_handshake_reads_the_version_and_logs_stray_lines(version, caplog):
    (pair,) = [p for p in PAIRS if pair_id(p) == "emacs/Missing.ideout.expected"]
    with caplog.at_level(logging.INFO, logger="proofsmith.checker.fstar.process"):
        ide = FStarIde(stand_in("--pair", *pair, "--protocol-version", version, "--stray", "Loading Prims (debug)"))
    try:
        assert ide.protocol.version == version
        assert list(ide.stray) == ["Loading Prims (debug)"]
        assert "Loading Prims (debug)" in caplog.text
        for query_id, query in recorded_requests(pair[0]):
            assert ide.call(query, timeout_s=10, query_id=query_id).response.ok
    finally:
        ide.kill()


def write_script(path, steps):
    path.write_text("".join(json.dumps(s) + "\n" for s in steps))
    return path


PUSH_OK = {"kind": "response", "query-id": "1", "response": [], "status": "success"}  # recorded shape (Missing:2)


def test_stray_lines_between_messages_and_progress(tmp_path):
    progress = {"kind": "message", "query-id": "1", "level": "progress",
                "contents": {"stage": "loading-dependency", "modname": "FStar.Pervasives"}}
    script = write_script(tmp_path / "s.jsonl", [{
        "request": {"query": "push", "args": {"kind": "full", "code": "module A\n", "line": 1, "column": 0}},
        "replies": ["Debug: something on stdout", progress, PUSH_OK],
    }])
    ide = FStarIde(stand_in("--script", script))
    try:
        answer = ide.call(Push(kind="full", code="module A\n", line=1, column=0), timeout_s=10)
        assert answer.response.ok and answer.messages[0].contents.modname == "FStar.Pervasives"
        assert list(ide.stray) == ["Debug: something on stdout"]
    finally:
        ide.kill()


def test_crash_mid_query_and_protocol_faults(tmp_path):
    push = Push(kind="full", code="module A\n", line=1, column=0)
    ide = FStarIde(stand_in("--kill-at", 0))
    with pytest.raises(SessionCrashed, match="SIGKILL"):
        ide.call(push, timeout_s=10)
    garbage = write_script(tmp_path / "g.jsonl", [{"request": {"query": "push", "args": push.args()}, "replies": ["{oops"]}])
    ide = FStarIde(stand_in("--script", garbage))
    with pytest.raises(SessionCrashed, match="not JSON"):
        ide.call(push, timeout_s=10)
    assert not ide.alive
    wrong_id = write_script(tmp_path / "w.jsonl", [{"request": {"query": "push", "args": push.args()},
                                                    "replies": [{**PUSH_OK, "query-id": "99"}], "keep_ids": True}])
    ide = FStarIde(stand_in("--script", wrong_id))
    with pytest.raises(SessionCrashed, match="answered query 99"):
        ide.call(push, timeout_s=10)


def test_memory_cap_kills(tmp_path):
    ide = FStarIde(stand_in("--bloat-at", 0, "--bloat-mb", 600), memory_mb=300)
    with pytest.raises(FStarMemoryExceeded, match="over the cap of 300 MB"):
        ide.call(Push(kind="full", code="module A\n", line=1, column=0), timeout_s=30)
    assert not ide.alive
