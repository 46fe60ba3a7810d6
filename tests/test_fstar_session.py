"""FStarSession against recorded F* answers: checks in a file's checked prefix and in a scratch
module, the verdict rules, the interactive API, and recovery from silence, crashes and kills.

The session starts tests/fstar_replay.py as its fstar.exe. Scripts are put
together from recorded (request, answer) steps of the upstream transcripts,
named by transcript and query-id; the stand-in ends with status 3 on any
request that is not the scripted one, so every test also proves the session
sent exactly those requests. Where no recording has the answer a test needs,
the test writes it in F*'s own shapes and says so ("constructed").
"""

import json
import os
import signal
import sys
import threading
import time

import pytest

from proofsmith.checker.backend import CheckerUnavailable
from proofsmith.checker.fstar.session import INSTALL_HINT, FStarPoint, FStarSession
from proofsmith.checker.fstar.target import target_of
from proofsmith.checker.pool import PooledChecker
from proofsmith.checker.registry import open_checker
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import (
    NextState,
    ProofFinished,
    ProofTask,
    Source,
    TacticError,
    TacticTimeout,
    Theorem,
    Verdict,
)

from .fstar_replay import FIXTURES, VERSION_TEXT, recorded_pair, transcripts

REPLAY = str(FIXTURES.parent.parent / "fstar_replay.py")
FSTAR_REPO = Source("https://github.com/FStarLang/FStar", "61ccb460777edf004920e775a2e2d5825726354a",
                    "tests/ide/emacs/Harness.fst")


def settings(*args, **overrides) -> CheckerSettings:
    values = dict(fstar_binary=sys.executable, fstar_args=["-S", REPLAY, *map(str, args)], timeout_s=10, workers=1)
    values.update(overrides)
    return CheckerSettings(**values)


def recorded(stem: str) -> dict[str, dict]:
    """The recorded steps of emacs/STEM.ideout.expected by query-id, as script steps."""
    (pair,) = [p for p in transcripts() if p[1].name == f"{stem}.ideout.expected"]
    steps = {}
    for step in recorded_pair(*pair):
        request = step["request"]
        steps[request["query-id"]] = {"request": {"query": request["query"], "args": request["args"]},
                                      "replies": step["replies"], "silent": step["silent"]}
    return steps


def response(body, status="success") -> dict:
    return {"kind": "response", "query-id": "?", "response": body, "status": status}


def vfs_add(contents: str) -> dict:
    """Constructed: no transcript gives the header this way; the answer is the recorded vfs-add one (Number:1)."""
    return {"request": {"query": "vfs-add", "args": {"filename": None, "contents": contents}}, "replies": [response(None)]}


def push(code: str, line: int, *replies) -> dict:
    return {"request": {"query": "push", "args": {"kind": "full", "code": code, "line": line, "column": 0}},
            "replies": list(replies)}


POP = {"request": {"query": "pop", "args": {}}, "replies": [response(None)]}


def write_script(path, steps):
    path.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in steps), encoding="utf-8")
    return path


BACKTRACKING = recorded("Backtracking.refinements")
HEADER_B = BACKTRACKING["1"]["request"]["args"]["code"]  # "module Backtracking\n"


def backtracking_theorem(statement: str = "") -> Theorem:
    return Theorem("Backtracking.a", statement, HEADER_B, backend="fstar")


def backtracking_base() -> list[dict]:
    return [vfs_add(HEADER_B), BACKTRACKING["1"]]


# ---------------------------------------------------------------- checks in a file's checked prefix


@pytest.mark.parametrize("expected", ["Harness.selfref.ideout.expected", "Harness.selfref.out.expected"])
def test_checked_prefix_of_a_file_as_recorded(expected):
    """The upstream test of the harness's own query: always_foo cannot be proved from itself."""
    emacs = FIXTURES / "emacs"
    pair = ["--pair", emacs / "Harness.selfref.in", emacs / expected, "--expect-file", "Harness.fst"]
    theorem = Theorem("Harness.always_foo", "", "", backend="fstar", source=FSTAR_REPO)
    with FStarSession(settings(*pair)) as session:
        by_smt = session.check(theorem, "let always_foo x : Lemma (foo x) = ()")
        by_itself = session.check(theorem, "let always_foo x : Lemma (foo x) = Harness.always_foo x")
        assert session.alive and session.uses == 2 and session.generation == 0
    assert by_smt.verdict is Verdict.FAILED and "Error 19" in by_smt.reason and "post-condition" in by_smt.reason
    assert by_smt.reason.startswith("<input>:1.35-1.37")
    assert by_itself.verdict is Verdict.FAILED and "Error 72" in by_itself.reason
    assert by_smt.checker.backend == "fstar" and by_smt.checker.version == VERSION_TEXT


def test_scratch_module_push_and_pop_as_recorded(tmp_path):
    """Backtracking's pushes and pops are exactly the session's: push a candidate, pop it when accepted."""
    b = BACKTRACKING
    steps = [b[i] for i in ("6", "7", "18", "23", "24", "26", "10", "11")]
    script = write_script(tmp_path / "s.jsonl", backtracking_base() + steps)
    candidates = ["\nlet a = 1\n", "\nlet a : a:nat{a > 2} = 1\n", "\nlet a : a:nat{a > 0} = 1\n",
                  "\nlet a : a:nat{a > 0} = -1\n", "\nlet a : nat = 1\n"]
    with FStarSession(settings("--script", script, "--expect-file", "Backtracking.fst")) as session:
        results = [session.check(backtracking_theorem(), c) for c in candidates]
        assert session.alive and session.header == HEADER_B
    assert [r.verdict for r in results] == [Verdict.PROVED, Verdict.FAILED, Verdict.PROVED, Verdict.FAILED, Verdict.PROVED]
    assert "Expected type a: nat{a > 2} got type int" in results[1].reason and results[1].messages


def test_statement_goes_before_the_candidate_and_a_restated_val_is_dropped(tmp_path):
    statement = "val a : a:nat{a > 0}"
    code = f"{statement}\nlet a = 1"  # constructed request; the answers are recorded shapes (Backtracking:23, :24)
    script = write_script(tmp_path / "s.jsonl", backtracking_base() + [push(code, 2, response([])), POP] * 2)
    with FStarSession(settings("--script", script)) as session:
        plain = session.check(backtracking_theorem(statement), "let a = 1")
        restated = session.check(backtracking_theorem(statement), "val a : a : nat { a > 0 }\nlet a = 1")
        changed = session.check(backtracking_theorem(statement), "val a : nat\nlet a = 1")
    assert plain.verdict is Verdict.PROVED and restated.verdict is Verdict.PROVED
    assert changed.verdict is Verdict.FAILED and "restates the val differently" in changed.reason


# ---------------------------------------------------------------- verdict rules


TUTORIAL_WARNING = json.loads((FIXTURES / "responses_only" / "Tutorial.push.ideout.expected").read_text().splitlines()[11])
GH73 = recorded("FStarMode_GH73")


@pytest.mark.parametrize(
    "answer,verdict,reason",
    [
        # recorded: a warning that is not about an assumption (272) does not fail a candidate
        ([TUTORIAL_WARNING], Verdict.PROVED, ""),
        # constructed, in F*'s wording (FStarC.TypeChecker: "Every use of %s triggers a warning"): warning 335
        ([response([{"level": "warning", "number": 335, "message": "- Every use of Backtracking.cheat triggers a warning\n",
                     "ranges": [{"fname": "<input>", "beg": [3, 8], "end": [3, 13]}]}])], Verdict.FAILED, "warning 335"),
        # recorded peek answer (FStarMode_GH73:2) as a push answer: an error issue fails even with status success
        (GH73["2"]["replies"], Verdict.FAILED, "Error 189"),
        # constructed: an error message before a successful response
        ([{"kind": "message", "query-id": "?", "level": "error", "contents": "* Error 147 at <input>:1.0-1.0"}, response([])],
         Verdict.FAILED, "Error 147"),
        # recorded (Minimal.describe-repl:1): F* refused the request
        ([response("Unknown query 'repl-info'", "protocol-violation")], Verdict.ERROR, "refused"),
        # constructed (FStarC.Interactive.Ide validate_query): a generic failure is not a verdict on the candidate
        ([response("Current module unset", "failure")], Verdict.ERROR, "Current module unset"),
        # constructed: failure without any issue
        ([response([], "failure")], Verdict.FAILED, "status failure"),
    ],
)
def test_verdict_rules(tmp_path, answer, verdict, reason):
    steps = backtracking_base() + [push("\nlet a = 1\n", 2, *answer)]
    if answer[-1]["status"] == "success":  # F* kept the fragment: the session pops it, whatever the verdict
        steps.append(BACKTRACKING["7"])
    script = write_script(tmp_path / "s.jsonl", steps)
    with FStarSession(settings("--script", script)) as session:
        result = session.check(backtracking_theorem(), "\nlet a = 1\n")
        assert session.alive
    assert result.verdict is verdict and reason in result.reason


def test_assume_warning_numbers_are_a_setting(tmp_path):
    script = write_script(tmp_path / "s.jsonl", backtracking_base() + [push("\nlet a = 1\n", 2, TUTORIAL_WARNING), POP])
    with FStarSession(settings("--script", script, fstar_assume_warnings=[272, 335])) as session:
        result = session.check(backtracking_theorem(), "\nlet a = 1\n")
    assert result.verdict is Verdict.FAILED and "warning 272" in result.reason


def test_guard_rejections_never_reach_fstar(tmp_path):
    empty = write_script(tmp_path / "empty.jsonl", [])
    with FStarSession(settings("--script", empty)) as session:
        for cheat in ["let a = admit ()", "assume val a : nat", "let a = 1\nlet b = 2", "#push-options \"--lax\"\nlet a = 1",
                      "let b = 1", "[@@expect_failure]\nlet a : nat = -1"]:
            result = session.check(backtracking_theorem(), cheat)
            assert result.verdict is Verdict.FAILED and result.reason.startswith("rejected:"), cheat
        assert session.pid is None  # F* was never started
        bad = session.check(Theorem("not a name", "", HEADER_B, backend="fstar"), "let a = 1")
        assert bad.verdict is Verdict.ERROR and "not an F* definition name" in bad.reason


def test_base_that_does_not_load_is_an_error(tmp_path):
    # constructed, in F*'s wording (load_partial_checked_file's failwith, reported as an IDE assertion failure)
    failure = response([{"level": "error", "message": "ASSERTION FAILURE: cannot find checked file for Harness.fst\n",
                         "ranges": []}], "failure")
    script = write_script(tmp_path / "s.jsonl", [
        {"request": {"query": "push-partial-checked-file", "args": {"until-lid": "Harness.always_foo"}}, "replies": [failure]},
    ])
    theorem = Theorem("Harness.always_foo", "", "", backend="fstar", source=FSTAR_REPO)
    with FStarSession(settings("--script", script)) as session:
        result = session.check(theorem, "let always_foo x : Lemma (foo x) = ()")
    assert result.verdict is Verdict.ERROR and "cannot load the checked prefix of Harness.fst" in result.reason


def test_moving_between_definitions_of_a_file_and_between_files(tmp_path):
    def until(lid):
        return {"request": {"query": "push-partial-checked-file", "args": {"until-lid": lid}}, "replies": [response([])]}

    # constructed requests, answers in the recorded shapes (Harness.selfref:1, Backtracking:23 and :24)
    script = write_script(tmp_path / "s.jsonl", [
        until("Harness.foo"), push("let foo (x : nat) : prop = forall z. bar x z", 1, response([])), POP,
        POP, until("Harness.always_foo"), push("let always_foo x : Lemma (foo x) = ()", 1, response([])), POP,
    ])
    restart = write_script(tmp_path / "r.jsonl", backtracking_base() + [BACKTRACKING["6"], BACKTRACKING["7"]])
    marker = tmp_path / "second-process"
    foo = Theorem("Harness.foo", "", "", backend="fstar", source=FSTAR_REPO)
    always = Theorem("Harness.always_foo", "", "", backend="fstar", source=FSTAR_REPO)
    # the first process never sees a fault: the marker only makes the second one serve `restart`
    with FStarSession(settings("--script", script, "--marker", marker, "--restart-script", restart)) as session:
        assert session.check(foo, "let foo (x : nat) : prop = forall z. bar x z").proved
        assert session.check(always, "let always_foo x : Lemma (foo x) = ()").proved
        assert session.generation == 0
        marker.touch()
        assert session.check(backtracking_theorem(), "\nlet a = 1\n").proved  # another file: another process
        assert session.generation == 1


# ---------------------------------------------------------------- interactive API


GH73_HEADER = GH73["1"]["request"]["args"]["code"]  # "module FStarMode_GH73\nopen FStar.Tactics.V2\n"


def test_interactive_open_and_run_with_proof_state_goals(tmp_path):
    script = write_script(tmp_path / "s.jsonl", [vfs_add(GH73_HEADER), GH73["1"], GH73["3"], GH73["5"]])
    theorem = Theorem("FStarMode_GH73.x", "", GH73_HEADER, backend="fstar")
    with FStarSession(settings("--script", script)) as session:
        root = session.open(theorem)
        assert root.goals[0].target == "a definition of x" and isinstance(root.handle, FStarPoint)
        ill_typed = session.run(root, GH73["3"]["request"]["args"]["code"])
        assert isinstance(ill_typed, TacticError) and "Error 189" in ill_typed.message
        tactic = session.run(root, GH73["5"]["request"]["args"]["code"])
        assert isinstance(tactic, TacticError) and "Error 228" in tactic.message and "Tactic failed" in tactic.message
        assert "proof state (at the time of failure)" in tactic.message and "bool" in tactic.message
        rejected = session.run(root, "let x : bool = admit ()")
        assert isinstance(rejected, TacticError) and rejected.message.startswith("rejected:")


def test_interactive_statement_goal_finish_and_go_back(tmp_path):
    statement = "val a : a:nat{a > 0}"
    # constructed: a lax peek of the statement answered [] (the recorded answer of a clean peek, Backtracking:22)
    peek = {"request": {"query": "peek", "args": {"kind": "lax", "code": statement, "line": 2, "column": 0}},
            "replies": [response([])]}
    failing = BACKTRACKING["26"]["replies"]
    script = write_script(tmp_path / "s.jsonl", backtracking_base() + [
        peek, push(f"{statement}\nlet a = 1", 2, response([])), POP, push(f"{statement}\nlet a = -1", 2, *failing),
    ])
    with FStarSession(settings("--script", script)) as session:
        root = session.open(backtracking_theorem(statement))
        assert root.text == statement and root.goals[0].target == "a:nat{a > 0}"
        done = session.run(root, "let a = 1")
        assert isinstance(done, ProofFinished) and done.state.is_finished
        assert isinstance(session.run(done.state, "let a = 2"), TacticError)  # nothing after a complete definition
        again = session.run(root, "let a = -1")  # back at the opening state for free
        assert isinstance(again, TacticError) and "Error 19" in again.message
        assert not isinstance(again, NextState)


# ---------------------------------------------------------------- recovery

SEARCH = recorded("Search.cons-snoc")
SEARCH_HEADER = SEARCH["1"]["request"]["args"]["code"]  # "module Search\nopen FStar.Seq\nopen FStar.Seq.Properties\n"
SILENT_ANSWER = SEARCH["2"]["replies"]  # one error message, then nothing (recorded)


def search_theorem() -> Theorem:
    return Theorem("Search.cons_snoc", "", SEARCH_HEADER, backend="fstar")


def search_scripts(tmp_path, first: list[dict], then: list[dict]):
    base = [vfs_add(SEARCH_HEADER), SEARCH["1"]]
    line = SEARCH_HEADER.count("\n") + 1
    steps = {"ok": lambda c: [push(c, line, response([])), POP]}
    script = write_script(tmp_path / "first.jsonl", base + [s for item in first for s in item(line, steps)])
    restart = write_script(tmp_path / "restart.jsonl", base + [s for item in then for s in item(line, steps)])
    return script, restart


def ok(code):
    return lambda line, steps: steps["ok"](code)


def goes_silent(code):
    return lambda line, steps: [{**push(code, line, *SILENT_ANSWER), "silent": True}]


def test_silent_process_costs_only_the_running_candidate(tmp_path):
    script, restart = search_scripts(tmp_path, [ok("let cons_snoc = 1"), goes_silent("let cons_snoc = 2")],
                                     [ok("let cons_snoc = 3")])
    faults = ["--script", script, "--marker", tmp_path / "fell-silent", "--restart-script", restart]
    with FStarSession(settings(*faults)) as session:
        first = session.check(search_theorem(), "let cons_snoc = 1")
        t0 = time.monotonic()
        silent = session.check(search_theorem(), "let cons_snoc = 2", timeout_s=0.5)
        assert time.monotonic() - t0 < 5 and not session.alive
        after = session.check(search_theorem(), "let cons_snoc = 3")
        assert session.generation == 1 and session.alive
    assert first.verdict is Verdict.PROVED and after.verdict is Verdict.PROVED
    assert silent.verdict is Verdict.TIMEOUT and "F* killed" in silent.reason
    assert any("Error 147" in m for m in silent.messages)  # what F* said before falling silent


def test_pool_replaces_a_silent_process_and_the_rest_of_the_batch_is_unaffected(tmp_path):
    script, restart = search_scripts(tmp_path, [ok("let cons_snoc = 1"), goes_silent("let cons_snoc = 2")],
                                     [ok("let cons_snoc = 3")])
    faults = ["--script", script, "--marker", tmp_path / "fell-silent", "--restart-script", restart]
    checker = PooledChecker(lambda: FStarSession(settings(*faults)), settings(*faults))
    tasks = [ProofTask(search_theorem(), f"let cons_snoc = {i}", 0.5 if i == 2 else 10) for i in (1, 2, 3)]
    with checker:
        results = checker.check_batch(tasks)
    assert [r.verdict for r in results] == [Verdict.PROVED, Verdict.TIMEOUT, Verdict.PROVED]


@pytest.mark.parametrize("fault,words", [("--kill-at", "killed by signal SIGKILL"), ("--exit-at", "exiting as asked")])
def test_process_dying_mid_push_is_an_error_then_restarts(tmp_path, fault, words):
    script, restart = search_scripts(tmp_path, [ok("let cons_snoc = 1")], [ok("let cons_snoc = 1")])
    faults = ["--script", script, fault, 2, "--marker", tmp_path / "died", "--restart-script", restart]
    with FStarSession(settings(*faults)) as session:
        died = session.check(search_theorem(), "let cons_snoc = 1")
        assert not session.alive
        again = session.check(search_theorem(), "let cons_snoc = 1")
    assert died.verdict is Verdict.ERROR and "checker crashed" in died.reason and words in died.reason
    assert again.verdict is Verdict.PROVED


def test_process_killed_from_outside_mid_push(tmp_path):
    script, restart = search_scripts(tmp_path, [ok("let cons_snoc = 1")], [ok("let cons_snoc = 1")])
    faults = ["--script", script, "--hang-at", 2, "--marker", tmp_path / "hung", "--restart-script", restart]
    with FStarSession(settings(*faults)) as session:
        session.load_base(target_of(search_theorem()))
        victim = session.pid
        killer = threading.Timer(0.5, lambda: os.killpg(victim, signal.SIGKILL))
        killer.start()
        t0 = time.monotonic()
        killed = session.check(search_theorem(), "let cons_snoc = 1", timeout_s=30)
        killer.join()
        assert time.monotonic() - t0 < 10
        again = session.check(search_theorem(), "let cons_snoc = 1")
    assert killed.verdict is Verdict.ERROR and "SIGKILL" in killed.reason
    assert again.verdict is Verdict.PROVED


def test_memory_cap_and_base_timeout(tmp_path):
    script, _ = search_scripts(tmp_path, [ok("let cons_snoc = 1")], [])
    with FStarSession(settings("--script", script, "--bloat-at", 2, "--bloat-mb", 600, fstar_memory_mb=300)) as session:
        result = session.check(search_theorem(), "let cons_snoc = 1", timeout_s=30)
    assert result.verdict is Verdict.ERROR and "over the cap of 300 MB" in result.reason
    with FStarSession(settings("--script", script, "--hang-at", 1, fstar_prefix_timeout_s=0.5)) as session:
        result = session.check(search_theorem(), "let cons_snoc = 1")
    assert result.verdict is Verdict.TIMEOUT and "did not load" in result.reason


def test_interactive_timeout(tmp_path):
    script, _ = search_scripts(tmp_path, [goes_silent("let cons_snoc = 2")], [])
    with FStarSession(settings("--script", script)) as session:
        root = session.open(search_theorem())
        assert isinstance(session.run(root, "let cons_snoc = 2", timeout_s=0.5), TacticTimeout)


# ---------------------------------------------------------------- availability


def test_missing_fstar_says_what_to_install(tmp_path):
    with pytest.raises(CheckerUnavailable) as missing:
        open_checker("fstar", CheckerSettings(fstar_binary=str(tmp_path / "fstar.exe")))
    message = str(missing.value)
    assert INSTALL_HINT in message
    for hint in ("FStarLang/FStar/releases", "opam install fstar", "PROOFSMITH_FSTAR_BINARY", "PROOFSMITH_FSTAR_INCLUDE"):
        assert hint in message


def test_registry_builds_a_pooled_fstar_checker(tmp_path):
    empty = write_script(tmp_path / "empty.jsonl", [])
    with open_checker("fstar", settings("--script", empty)) as checker:
        assert isinstance(checker, PooledChecker)
        result = checker.check(backtracking_theorem(), "let a = magic ()")
        assert result.verdict is Verdict.FAILED and "magic" in result.reason
        assert checker.info.backend == "fstar" and checker.info.version == VERSION_TEXT
