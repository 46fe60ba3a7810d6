"""LeanSession against replayed REPL transcripts: the interactive API, whole-proof checks, recovery.

The session starts tests/lean_replay.py as its REPL executable. Where the
session's requests are exactly the ones recorded in the REPL's own test suite
the replay serves the recorded answers unchanged; a request the recording
does not have ends the replay (status 3), so every test also proves the
session sent exactly those requests. `#print axioms` was never recorded: the
tests that need its answer write it in the format of Lean's
src/Lean/Elab/Print.lean (`'NAME' depends on axioms: [...]`) and say so.
"""

import json
import sys
from pathlib import Path

import pytest

from proofsmith.checker.backend import CheckerUnavailable
from proofsmith.checker.lean.protocol import ProofStepResponse, TacticRequest, parse_request, parse_response
from proofsmith.checker.lean.session import LeanSession, step_error
from proofsmith.checker.pool import PooledChecker
from proofsmith.checker.registry import open_checker
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import NextState, ProofFinished, ProofTask, TacticError, TacticTimeout, Theorem, Verdict

from .lean_replay import recorded_pair

FIXTURES = Path(__file__).parent / "fixtures" / "lean_repl"
REPLAY = Path(__file__).parent / "lean_replay.py"


def transcript(version: str, name: str) -> Path:
    for folder in ("test", "test/Mathlib/test"):
        path = FIXTURES / version / folder / f"{name}.in"
        if path.exists():
            return path
    raise FileNotFoundError(name)


def settings(version: str, *args, **overrides) -> CheckerSettings:
    values = dict(lean_repl=sys.executable, lean_repl_args=["-S", str(REPLAY), version, *map(str, args)], timeout_s=10)
    values.update(overrides)
    return CheckerSettings(**values)


def session_for(version: str, name: str, *args, **overrides) -> LeanSession:
    return LeanSession(settings(version, "--pair", transcript(version, name), *args, **overrides))


def write_script(path: Path, steps) -> Path:
    with path.open("w") as f:
        for request, response in steps:
            f.write(json.dumps({"request": request, "response": response}, ensure_ascii=False) + "\n")
    return path


def axioms_answer(name: str, axioms: list[str], env: int) -> str:
    """A `#print axioms` answer, constructed (no recording has one) in Lean's own wording."""
    text = f"'{name}' depends on axioms: [{', '.join(axioms)}]" if axioms else f"'{name}' does not depend on any axioms"
    message = {"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": {"line": 1, "column": 13}, "data": text}
    return json.dumps({"messages": [message], "env": env})


# ---------------------------------------------------------------- interactive API


@pytest.mark.parametrize("version", ["v4.9.0", "v4.33.0-rc2"])
def test_open_and_run_follow_the_recorded_mathlib_session(version):
    with session_for(version, "exact") as session:
        header = "import Mathlib"
        root = session.open(Theorem("test", "theorem test : 0 < 1", header))
        assert root.text == "⊢ 0 < 1" and root.goals[0].target == "0 < 1"
        # a tactic that names the theorem being proved is refused before Lean sees it
        assert "theorem being proved" in session.run(root, "exact test").message
        done = session.run(root, "exact?")
        assert isinstance(done, ProofFinished) and done.state.is_finished
        # same header: the import is not run again (the recording has it once)
        other = session.open(Theorem("test", "theorem test : 3 = 7", header))
        failed = session.run(other, "exact?")
        assert isinstance(failed, TacticError) and "could not close the goal" in failed.message
        assert session.alive and session.header == header


@pytest.mark.parametrize("version", ["v4.19.0", "v4.33.0-rc2"])
def test_run_returns_to_any_earlier_state(version):
    with session_for(version, "proof_step") as session:
        root = session.open(Theorem("f", "def f : Nat", ""))
        step = session.run(root, "apply Int.natAbs")
        assert isinstance(step, NextState) and step.state.text == "⊢ Int"
        have = session.run(root, "have t : Nat := 42")  # from the root again
        assert isinstance(have, NextState)
        (goal,) = have.state.goals
        assert [(h.names, h.type) for h in goal.hypotheses] == [(("t",), "Nat")] and goal.target == "Nat"
        assert isinstance(session.run(have.state, "exact t"), ProofFinished)


def test_goals_of_case_splits_are_structured_and_sorry_tactics_never_sent():
    with session_for("v4.15.0", "induction") as session:
        root = session.open(Theorem("foo", "theorem foo (x : Nat) : x = x", "import Mathlib"))
        split = session.run(root, "induction x")
        assert isinstance(split, NextState) and len(split.state.goals) == 2
        zero, succ = split.state.goals
        assert zero.hypotheses == () and zero.target == "0 = 0"
        assert [h.names for h in succ.hypotheses] == [("n✝",), ("a✝",)]
        assert succ.target == "n✝ + 1 = n✝ + 1"
        assert split.state.text.startswith("case zero\n⊢ 0 = 0\n\ncase succ")
        assert len(session.run(split.state, "next => rfl").state.goals) == 1
        rejected = session.run(root, "induction x with\n| zero => sorry\n| succ x => sorry")
        assert isinstance(rejected, TacticError) and "sorry" in rejected.message
        assert session.alive  # the replay would have died on an unrecorded request


def test_step_errors_over_every_recorded_tactic_answer():
    """A step fails on a REPL error, an error message, a sorry or a kernel failure; otherwise
    `finished` is exactly 'no goals' from v4.19 on."""
    kernel_failures = finished = 0
    for version in ("v4.19.0", "v4.33.0-rc2"):
        for path in sorted((FIXTURES / version).rglob("*.in")):
            if not path.with_name(path.name[:-3] + ".expected.out").exists():
                continue
            for raw_request, raw_response in recorded_pair(path, version):
                request = parse_request(raw_request)
                if not isinstance(request, TacticRequest):
                    continue
                response = parse_response(request, raw_response)
                error = step_error(response)
                if isinstance(response, ProofStepResponse) and (response.proof_status or "").startswith("Error"):
                    kernel_failures += 1
                    assert error is not None
                elif isinstance(response, ProofStepResponse) and error is None:
                    assert response.finished() == (not response.goals)
                    finished += response.finished()
                else:
                    assert error
    assert kernel_failures == 2 * 4 and finished > 10  # 4 kernel failures recorded per version


# ---------------------------------------------------------------- whole proofs


@pytest.mark.parametrize("version", ["v4.19.0", "v4.33.0-rc2"])
@pytest.mark.parametrize(
    "name,statement,proof,reason",
    [
        ("self_proof_exact_check", "theorem ex : False", "by exact ex", "fail to show termination"),
        ("self_proof_apply_check", "theorem ex : False", "by apply ex", "fail to show termination"),
        ("self_proof_rw", "theorem self_application : 1 = 0", "by rw [self_application]", "fail to show termination"),
        ("self_proof_check", "theorem ex : False", "by exact?", "could not close the goal"),
    ],
)
def test_recorded_self_referential_proofs_fail(version, name, statement, proof, reason):
    with session_for(version, name) as session:
        result = session.check(Theorem(statement.split()[1], statement, ""), proof)
        assert result.verdict is Verdict.FAILED and reason in result.reason
        assert result.checker.backend == "lean"


def numbertheory_script(tmp_path, version: str, axioms: list[list[str]]) -> Path:
    """H20231020 (recorded: the header, then three proofs), with a `#print axioms` after each proof."""
    steps = recorded_pair(transcript(version, "H20231020"), version)
    script = [steps[0]]
    for index, (request, response) in enumerate(steps[1:]):
        name = request["cmd"].split()[1]
        env = json.loads(response)["env"]
        script.append((request, response))
        script.append(({"cmd": f"#print axioms {name}", "env": env}, axioms_answer(name, axioms[index], 10 + index)))
    return write_script(tmp_path / "script.jsonl", script)


def numbertheory_tasks(version: str) -> tuple[str, list[ProofTask]]:
    steps = recorded_pair(transcript(version, "H20231020"), version)
    header = steps[0][0]["cmd"]
    tasks = []
    for request, _ in steps[1:]:
        statement, proof = request["cmd"].split(" := ", 1)
        tasks.append(ProofTask(Theorem(statement.split()[1], statement, header, backend="lean"), proof))
    return header, tasks


@pytest.mark.parametrize("version", ["v4.9.0", "v4.33.0-rc2"])
def test_checks_pay_the_header_once_and_judge_axioms(tmp_path, version):
    script = numbertheory_script(tmp_path, version, [["propext"], ["propext", "sorryAx", "Classical.choice"], []])
    header, tasks = numbertheory_tasks(version)
    with LeanSession(settings(version, "--script", script)) as session:
        proved, sorried, clean = (session.check(t.theorem, t.proof) for t in tasks)
        assert session.uses == 3 and session.header == header
    assert proved.verdict is Verdict.PROVED and proved.axioms == ("propext",)
    assert sorried.verdict is Verdict.FAILED and "sorryAx" in sorried.reason
    assert clean.verdict is Verdict.PROVED and clean.axioms == ()


def test_an_escaped_theorem_name_is_asked_about_with_its_escapes(tmp_path):
    version = "v4.19.0"
    header_step, (request, response) = recorded_pair(transcript(version, "H20231020"), version)[:2]
    name = request["cmd"].split()[1]
    escaped = {**request, "cmd": request["cmd"].replace(f"theorem {name} ", "theorem «my thm» ", 1)}
    asked = {"cmd": "#print axioms «my thm»", "env": json.loads(response)["env"]}
    script = write_script(tmp_path / "script.jsonl",
                          [header_step, (escaped, response), (asked, axioms_answer("«my thm»", ["propext"], 10))])
    statement, proof = escaped["cmd"].split(" := ", 1)
    with LeanSession(settings(version, "--script", script)) as session:
        result = session.check(Theorem("my thm", statement, header_step[0]["cmd"], backend="lean"), proof)
    assert result.verdict is Verdict.PROVED and result.axioms == ("propext",)


def test_disallowed_and_header_axioms(tmp_path):
    version = "v4.33.0-rc2"
    script = numbertheory_script(tmp_path, version, [["Lean.ofReduceBool", "propext"], ["Nat.magic"], ["Classical.choice"]])
    _, tasks = numbertheory_tasks(version)
    with LeanSession(settings(version, "--script", script)) as session:
        results = [session.check(t.theorem, t.proof) for t in tasks]
    assert results[0].verdict is Verdict.FAILED and results[0].reason == "depends on disallowed axioms: Lean.ofReduceBool"
    assert results[1].verdict is Verdict.FAILED and "Nat.magic" in results[1].reason
    assert results[2].verdict is Verdict.PROVED


def test_pooled_checker_keeps_the_header_loaded(tmp_path):
    version = "v4.19.0"
    script = numbertheory_script(tmp_path, version, [["propext"], [], ["Quot.sound"]])
    _, tasks = numbertheory_tasks(version)
    checker = PooledChecker(lambda: LeanSession(settings(version, "--script", script)), settings(version, workers=1))
    seen = []
    with checker:
        results = checker.check_batch(tasks, on_result=lambda i, r: seen.append(i))
    assert [r.verdict for r in results] == [Verdict.PROVED] * 3
    assert sorted(seen) == [0, 1, 2] and checker.info.backend == "lean"


def test_guard_rejections_never_reach_lean(tmp_path):
    empty = write_script(tmp_path / "empty.jsonl", [])
    theorem = Theorem("t", "theorem t (n : Nat) : n + 0 = n", "")
    with LeanSession(settings("v4.33.0-rc2", "--script", empty)) as session:
        for proof in ["sorry", "by simp; admit", "native_decide", "theorem u : True := trivial", "#exit"]:
            result = session.check(theorem, proof)
            assert result.verdict is Verdict.FAILED and result.reason.startswith("rejected:"), proof
        bad_statement = session.check(Theorem("e", "example : True", ""), "trivial")
        assert bad_statement.verdict is Verdict.ERROR and "example" in bad_statement.reason
        assert session.alive


# ---------------------------------------------------------------- recovery


def proof_step_restart_script(tmp_path, version: str, skip: int) -> Path:
    """proof_step's recorded steps without step `skip`: what a restarted REPL is asked."""
    steps = recorded_pair(transcript(version, "proof_step"), version)
    return write_script(tmp_path / "restart.jsonl", [s for i, s in enumerate(steps) if i != skip])


def test_crash_then_replay_of_handles(tmp_path):
    version = "v4.19.0"
    restart = proof_step_restart_script(tmp_path, version, skip=1)
    fault = ["--exit-at", 2, "--marker", tmp_path / "crashed", "--restart-script", restart]
    with session_for(version, "proof_step", *fault) as session:
        root = session.open(Theorem("f", "def f : Nat", ""))
        assert isinstance(session.run(root, "apply Int.natAbs"), NextState)
        crashed = session.run(root, "have t : Nat := 42")
        assert isinstance(crashed, TacticError) and "dying as asked" in crashed.message
        assert not session.alive
        # the root handle outlives the process: the new REPL re-opens it, then runs the tactic
        again = session.run(root, "have t : Nat := 42")
        assert isinstance(again, NextState) and session.generation == 1
        assert isinstance(session.run(again.state, "exact t"), ProofFinished)


def test_tactic_timeout_kills_and_restarts(tmp_path):
    version = "v4.33.0-rc2"
    restart = proof_step_restart_script(tmp_path, version, skip=2)
    fault = ["--hang-at", 1, "--marker", tmp_path / "hung", "--restart-script", restart]
    with session_for(version, "proof_step", *fault) as session:
        root = session.open(Theorem("f", "def f : Nat", ""))
        timed_out = session.run(root, "apply Int.natAbs", timeout_s=0.5)
        assert isinstance(timed_out, TacticTimeout) and not session.alive
        assert isinstance(session.run(root, "apply Int.natAbs"), NextState)


def test_memory_cap_kills_the_repl(tmp_path):
    fault = ["--bloat-at", 1, "--bloat-mb", 600]
    with session_for("v4.33.0-rc2", "proof_step", *fault, lean_memory_mb=300) as session:
        root = session.open(Theorem("f", "def f : Nat", ""))
        result = session.run(root, "apply Int.natAbs", timeout_s=20)
        assert isinstance(result, TacticError) and "over the cap of 300 MB" in result.message
        assert not session.alive


def test_check_timeout_and_crash_are_verdicts_not_exceptions(tmp_path):
    version = "v4.19.0"
    _, tasks = numbertheory_tasks(version)
    pair = ["--pair", transcript(version, "H20231020")]
    with LeanSession(settings(version, *pair, "--hang-at", 1)) as session:
        timed_out = session.check(tasks[0].theorem, tasks[0].proof, timeout_s=0.5)
    assert timed_out.verdict is Verdict.TIMEOUT
    with LeanSession(settings(version, *pair, "--hang-at", 0, lean_header_timeout_s=0.5)) as session:
        header = session.check(tasks[0].theorem, tasks[0].proof)
    assert header.verdict is Verdict.TIMEOUT and "header" in header.reason
    with LeanSession(settings(version, *pair, "--exit-at", 1)) as session:
        crashed = session.check(tasks[0].theorem, tasks[0].proof)
    assert crashed.verdict is Verdict.ERROR and "dying as asked" in crashed.reason


# ---------------------------------------------------------------- availability


def test_missing_toolchain_says_what_to_install(tmp_path):
    with pytest.raises(CheckerUnavailable) as missing:
        open_checker("lean", CheckerSettings(lean_repl=str(tmp_path / "no-repl")))
    message = str(missing.value)
    for hint in ("elan", "leanprover-community/repl", "Mathlib", "PROOFSMITH_LEAN_REPL", "PROOFSMITH_LEAN_PROJECT_DIR"):
        assert hint in message
    with pytest.raises(CheckerUnavailable, match="not a directory"):
        LeanSession(CheckerSettings(lean_repl=sys.executable, lean_project_dir=str(tmp_path / "nowhere")))


def test_registry_builds_a_pooled_lean_checker(tmp_path):
    empty = write_script(tmp_path / "empty.jsonl", [])
    with open_checker("lean", settings("v4.33.0-rc2", "--script", empty, workers=1)) as checker:
        assert isinstance(checker, PooledChecker)
        result = checker.check(Theorem("t", "theorem t : True", "", backend="lean"), "sorry")
        assert result.verdict is Verdict.FAILED
