"""Every recorded Lean REPL transcript, replayed through the real client, parses into the typed models losslessly.

The transcripts are leanprover-community/repl's own regression tests at four
tags (tests/fixtures/lean_repl/README.md): requests in `X.in`, the real REPL's
byte-exact output in `X.expected.out`. A replay process (tests/lean_replay.py)
stands in for the REPL executable and serves exactly those responses.
"""

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from proofsmith.checker.lean.process import LeanRepl
from proofsmith.checker.lean.protocol import (
    CommandRequest,
    CommandResponse,
    FileRequest,
    PickleEnvRequest,
    PickleProofStateRequest,
    ProofStatus,
    ProofStepResponse,
    ProtocolError,
    ReplError,
    TacticRequest,
    UnpickleEnvRequest,
    UnpickleProofStateRequest,
    parse_request,
    parse_response,
)

from .lean_replay import recorded_pair, request_blocks

FIXTURES = Path(__file__).parent / "fixtures" / "lean_repl"
REPLAY = Path(__file__).parent / "lean_replay.py"
VERSIONS = ["v4.9.0", "v4.15.0", "v4.19.0", "v4.33.0-rc2"]

# From tests/fixtures/lean_repl/README.md (test/ + test/Mathlib/test/ columns).
PAIRS = {"v4.9.0": 38 + 13, "v4.15.0": 38 + 13, "v4.19.0": 49 + 14, "v4.33.0-rc2": 55 + 16}
RESPONSES = {"v4.9.0": 107 + 37, "v4.15.0": 107 + 37, "v4.19.0": 158 + 42, "v4.33.0-rc2": 170 + 47}
REPL_ERRORS = {"v4.9.0": 3 + 1, "v4.15.0": 3 + 1, "v4.19.0": 8 + 1, "v4.33.0-rc2": 8 + 1}
PROOF_STATUS = {"v4.9.0": 0, "v4.15.0": 0, "v4.19.0": 61 + 12, "v4.33.0-rc2": 62 + 12}
SORRY_QUOTED = {"v4.9.0": 21 + 9, "v4.15.0": 21 + 9, "v4.19.0": 35 + 10, "v4.33.0-rc2": 0}
SORRY_BACKTICKED = {"v4.9.0": 0, "v4.15.0": 0, "v4.19.0": 0, "v4.33.0-rc2": 36 + 12}


def transcripts(version: str) -> list[Path]:
    found = sorted((FIXTURES / version / "test").rglob("*.in"))
    return [p for p in found if p.with_name(p.name[:-3] + ".expected.out").exists()]


def replay_argv(version: str, *args: str) -> list[str]:
    return [sys.executable, "-S", str(REPLAY), version, *args]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_recorded_response_parses_losslessly(version):
    pairs = transcripts(version)
    assert len(pairs) == PAIRS[version]
    steps = [step for p in pairs for step in recorded_pair(p, version)]
    argv = replay_argv(version, *[arg for p in pairs for arg in ("--pair", str(p))])
    repl = LeanRepl(argv)
    kinds: Counter = Counter()
    seen = Counter()
    try:
        for raw_request, raw_response in steps:
            request = parse_request(raw_request)
            assert request.to_json() == raw_request, "request fields lost"
            response = repl.request(request, timeout_s=20)
            recorded = json.loads(raw_response)
            assert response.to_json() == recorded, f"fields lost in the answer to {raw_request}"
            if isinstance(response, ReplError):
                assert set(recorded) == {"message"}
            else:
                assert isinstance(response, request.response_type)
            kinds[type(request).__name__] += 1
            seen[type(response).__name__] += 1
            if isinstance(response, ProofStepResponse) and response.proof_status is not None:
                seen["proofStatus"] += 1
            if not isinstance(response, ReplError):
                for m in response.messages:
                    seen["sorry quoted"] += m.data == "declaration uses 'sorry'"
                    seen["sorry backticked"] += m.data == "declaration uses `sorry`"
                    seen[f"severity {m.severity}"] += 1
        assert repl.alive
    finally:
        repl.kill()
    assert len(steps) == RESPONSES[version]
    assert seen["ReplError"] == REPL_ERRORS[version]
    assert seen["proofStatus"] == PROOF_STATUS[version]
    assert seen["sorry quoted"] == SORRY_QUOTED[version]
    assert seen["sorry backticked"] == SORRY_BACKTICKED[version]
    assert seen["severity error"] > 0 and seen["severity warning"] > 0
    every_kind = {CommandRequest, FileRequest, TacticRequest, PickleEnvRequest, UnpickleEnvRequest,
                  PickleProofStateRequest, UnpickleProofStateRequest}
    assert {k.__name__ for k in every_kind} <= set(kinds)


@pytest.mark.parametrize("version", VERSIONS)
def test_sorry_is_detected_in_both_warning_texts(version):
    """The sorry warning changed text at v4.28; `uses_sorry` must see both, with or without `sorries`."""
    checked = 0
    for path in transcripts(version):
        for raw_request, raw_response in recorded_pair(path, version):
            request = parse_request(raw_request)
            response = parse_response(request, raw_response)
            if isinstance(response, ReplError):
                continue
            warned = any(m.data.startswith("declaration uses") and "sorry" in m.data for m in response.messages)
            if warned:
                checked += 1
                assert response.uses_sorry()
                stripped = response.model_copy(update={"sorries": []})
                assert stripped.uses_sorry(), "the warning alone must count"
    assert checked == SORRY_QUOTED[version] + SORRY_BACKTICKED[version]


def test_proof_step_completion_per_version():
    """Finished means Completed from v4.19 on, and no goals, no sorry, no error before it."""
    path = FIXTURES / "v4.9.0" / "test" / "Mathlib" / "test" / "induction.in"
    old = [parse_response(parse_request(q), r) for q, r in recorded_pair(path, "v4.9.0")]
    new = [parse_response(parse_request(q), r) for q, r in recorded_pair(
        FIXTURES / "v4.33.0-rc2" / "test" / "Mathlib" / "test" / "induction.in", "v4.33.0-rc2")]
    # induction x: two goals; next => rfl: one goal; the sorry branch: no goals but sorries
    for responses in (old, new):
        assert [len(r.goals) for r in responses[2:]] == [2, 1, 0]
        assert not any(r.finished() for r in responses[2:])
    assert old[4].proof_status is None and old[4].uses_sorry()
    assert new[4].proof_status == ProofStatus.SORRY
    readme = [parse_response(parse_request(q), r) for q, r in recorded_pair(
        FIXTURES / "v4.19.0" / "test" / "readme.in", "v4.19.0")]
    assert readme[2].proof_status == ProofStatus.COMPLETED and readme[2].finished()


def test_requests_go_out_as_one_line_and_a_blank_line():
    request = CommandRequest(cmd="theorem foo : 1 = 1 := by\n  rfl", env=3)
    wire = request.wire()
    assert wire.endswith("\n\n") and "\n" not in wire[:-2]
    assert json.loads(wire) == {"cmd": "theorem foo : 1 = 1 := by\n  rfl", "env": 3}
    # unset options are left out, as the REPL's own tests write them
    assert json.loads(CommandRequest(cmd="def f := 1").wire()) == {"cmd": "def f := 1"}


def test_recent_repl_framing_joins_lines_without_separator():
    """At v4.33 a raw newline inside a request vanishes (`by` + `sorry` = `bysorry`), as recorded."""
    path = FIXTURES / "v4.33.0-rc2" / "test" / "invalid_line_break.in"
    (first, response), _ = recorded_pair(path, "v4.33.0-rc2")
    assert first == {"cmd": "theorem foo : 1 = 1 := bysorry"}
    assert "bysorry" in parse_response(parse_request(first), response).errors()[0].data
    assert list(request_blocks(['{"cmd": "a\n', 'b"}\n', "\n"], "v4.9.0")) == ['{"cmd": "a\nb"}\n']


def test_malformed_answers_are_protocol_errors():
    request = CommandRequest(cmd="def f := 1")
    with pytest.raises(ProtocolError, match="not JSON"):
        parse_response(request, "uncaught exception: oops")
    with pytest.raises(ProtocolError, match="CommandResponse"):
        parse_response(request, '{"env": 0, "surprise": 1}')
    with pytest.raises(ProtocolError, match="not a REPL request"):
        parse_request({"frobnicate": 1})
    assert isinstance(parse_response(request, '{"message": "Unknown environment."}'), ReplError)
    assert isinstance(parse_response(TacticRequest(tactic="rfl", proof_state=0), '{"proofState": 1, "goals": []}'),
                      ProofStepResponse)
    assert isinstance(parse_response(request, '{"env": 0}'), CommandResponse)


def test_typed_request_helpers_follow_the_pickle_transcripts():
    version = "v4.15.0"
    env_pair = FIXTURES / version / "test" / "pickle_environment.in"
    state_pair = FIXTURES / version / "test" / "pickle_proof_state_1.in"
    repl = LeanRepl(replay_argv(version, "--pair", str(env_pair), "--pair", str(state_pair)))
    try:
        assert repl.command("def f := 42").env == 0
        assert repl.pickle_env(0, "test/a.olean").env == 0
        assert repl.unpickle_env("test/a.olean").env == 1
        assert repl.command("example : f = 42 := by rfl", env=1).env == 2
        # pickle_proof_state_1: a proof state survives a pickle round trip
        assert repl.command("import Lean").env == 0
        opened = repl.command("def f : Nat := by sorry", env=0)
        assert opened.sorries[0].proof_state == 0 and opened.uses_sorry()
        assert repl.pickle_proof_state(0, "test/c.olean").goals == ["⊢ Nat"]
        restored = repl.unpickle_proof_state("test/c.olean")
        step = repl.tactic("have t : Nat := 42", restored.proof_state)
        assert step.goals == ["t : Nat\n⊢ Nat"]
        assert repl.pickle_proof_state(step.proof_state, "test/d.olean").proof_state == 4
        again = repl.unpickle_proof_state("test/d.olean")
        assert repl.tactic("exact t", again.proof_state).finished()
    finally:
        repl.kill()
