"""`proofsmith suggest` end to end on real Coq (issue 17): the real program in a real terminal (tmux),
`--file/--line --json` on the fixture project, and bad input, each a clear message."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proofsmith.cli import main
from tests.cli_errors import usage_error

pytestmark = pytest.mark.coq

FIXTURE = Path(__file__).parent / "fixtures" / "coqproject"
STATEMENT = "Theorem t (n m : nat) : n <= m -> n < S m /\\ m + 0 = m."


@pytest.fixture(scope="module")
def project(coq_project) -> Path:
    return coq_project


def suggest_json(capsys, *argv) -> dict:
    assert main(["suggest", "--no-model", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


# ------------------------------------------------------------------ --file/--line --json


def test_file_line_json_gives_checked_suggestions_in_the_proof(capsys, project):
    out = suggest_json(capsys, "--file", str(project / "theories/Middle.v"), "--line", "8", "--project", str(project))
    assert out["theorem"] == "Proj.Middle.target" and out["file"] == "theories/Middle.v" and out["line"] == 8
    assert out["proof_so_far"] == [] and out["goals"] == ["============================\ndouble 1 + 0 = 2"]
    first = out["suggestions"][0]
    assert first["rank"] == 1 and first["closes_goal"] and first["finishes_proof"]
    assert {"tactic", "goals", "score", "source", "time_s"} <= set(first)
    # with --no-model: automation, and what the project teaches (its proofs, its declarations)
    assert all(set(s["source"].split("+")) <= {"automation", "tactic memory", "premise"} for s in out["suggestions"])


def test_file_line_runs_the_proof_up_to_the_line_with_a_discovered_project(capsys, project, tmp_path, monkeypatch):
    middle = project / "theories/Middle.v"
    edited = middle.read_text().replace("Proof. rewrite <- plus_n_O. exact above. Qed.",
                                        "Proof.\n  rewrite <- plus_n_O.\n\n  exact above.\nQed.")
    (project / "theories/Edited.v").write_text(edited)
    monkeypatch.chdir(project / "theories")  # the _CoqProject is found from the file's folder up
    out = suggest_json(capsys, "--file", "Edited.v", "--line", "11")
    assert out["proof_so_far"] == ["rewrite <- plus_n_O."] and out["goals_text"].endswith("double 1 = 2")
    assert any(s["tactic"] == "reflexivity." and s["finishes_proof"] for s in out["suggestions"])
    out = suggest_json(capsys, "--file", "Edited.v", "--line", "13")
    assert out["finished"] and out["suggestions"] == []


def test_file_line_with_q_and_r_bindings(capsys, project):
    out = suggest_json(capsys, "--file", str(project / "theories/Middle.v"), "--line", "18",
                       "-Q", str(project / "theories"), "Proj", "-R", str(project / "extra"), "Extra")
    assert out["theorem"] == "Proj.Middle.sec_lemma" and "k_pos : 0 < k" in out["goals_text"]


# ------------------------------------------------------------------ bad input


def test_a_statement_that_does_not_elaborate(capsys):
    err = usage_error(capsys, ["suggest", "--no-model", "Theorem t : foo + 1 = 2."])
    assert "statement does not compile" in err and "foo was not found" in err


def test_a_line_outside_any_proof(capsys, project):
    err = usage_error(capsys, ["suggest", "--no-model", "--file", str(project / "theories/Middle.v"), "--line", "3",
                               "--project", str(project)])
    assert "line 3 is not inside any proof; the nearest: above (lines 5-6)" in err


def test_an_unbuilt_project_is_built_or_with_no_build_the_missing_vo_is_named(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PROOFSMITH_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "P"
    shutil.copytree(FIXTURE, project)  # Base.v and Util.v are not compiled: Middle.v requires them
    argv = ["suggest", "--no-model", "--json", "--file", str(project / "theories/Middle.v"), "--line", "9",
            "--project", str(project)]
    assert main([*argv, "--no-build"]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1
    assert f"--no-build: {project}/theories/Base.vo is missing" in captured.err
    assert "--no-build" in json.loads(captured.out)["error"]  # what an editor reads
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["proof_so_far"] == ["rewrite <- plus_n_O.", "exact above."]
    assert "built 2 file(s)" in captured.err and not list(project.rglob("*.vo"))


def test_a_file_that_does_not_compile_up_to_the_line(capsys, project):
    (project / "theories/Early.v").write_text("Lemma early : 1 = 2.\nProof. reflexivity. Qed.\n"
                                              "Theorem t : True.\nProof.\n  exact I.\nQed.\n")
    assert main(["suggest", "--no-model", "--json", "--file", str(project / "theories/Early.v"),
                 "--line", "5", "--project", str(project)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "does not replay up to Proj.Early.t: line 2: " in captured.err
    assert "does not replay" in json.loads(captured.out)["error"]


def test_a_file_whose_proof_fails_before_the_line(capsys, project):
    broken = (project / "theories/Middle.v").read_text().replace("exact above.", "exact below.")
    (project / "theories/Broken.v").write_text(broken)
    assert main(["suggest", "--no-model", "--json", "--file", str(project / "theories/Broken.v"), "--line", "9",
                 "--project", str(project)]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"] == captured.err.strip().removeprefix("proofsmith suggest: ")
    assert "theories/Broken.v, line 9: 'exact below.' fails: " in captured.err and "below was not found" in captured.err


def test_usage_mistakes_are_named(capsys):
    assert "--line" in usage_error(capsys, ["suggest", "--file", "x.v"])
    assert "not both" in usage_error(capsys, ["suggest", STATEMENT, "--file", "x.v", "--line", "1"])
    assert "expected 'Theorem NAME" in usage_error(capsys, ["suggest", "t = 2"])


# ------------------------------------------------------------------ the real program in tmux


class Terminal:
    """One tmux session on a private server, running a command in a real pseudo-terminal."""

    def __init__(self, command: str, width: int = 160, height: int = 60):
        self.socket = f"proofsmith-test-{os.getpid()}-{time.monotonic_ns()}"
        self.name = "suggest"
        self.tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                  f"{command}; echo EXIT=$?; sleep 120")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True).stdout

    def send(self, keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", keys)
        self.tmux("send-keys", "-t", self.name, "Enter")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-2000", "-t", self.name)

    def wait_for(self, pattern: str, count: int = 1, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            screen = self.screen()
            if len(re.findall(pattern, screen)) >= count:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"no {count} x {pattern!r} on the screen after {timeout_s} s:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def _row_number(screen_part: str, tactic: str) -> str:
    rows = re.findall(rf"^(\d+)\.\s+{re.escape(tactic)}\s", screen_part, re.M)
    assert rows, f"no numbered row for {tactic!r} in:\n{screen_part}"
    return rows[-1]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/setup installs it)")
def test_the_real_program_in_a_terminal(tmp_path):
    command = shlex.join([sys.executable, "-m", "proofsmith.cli", "suggest", "--no-model", "--no-hammer", STATEMENT])
    term = Terminal(f"cd {shlex.quote(str(tmp_path))} && {command}")
    try:
        done = r"\d+ suggestion\(s\) in"
        screen = term.wait_for(done)
        assert "n <= m -> n < S m /\\ m + 0 = m" in screen  # the goals
        assert re.search(r"^1\.\s+lia\.\s+closes the goal", screen, re.M)  # numbered rows, closers first
        assert re.search(r"^2\.\s", screen, re.M)
        term.send(_row_number(screen, "intros."))  # pick a suggestion by its number
        screen = term.wait_for(done, 2)
        panel = screen[screen.rindex("t: 1 goal"):]
        assert "H : n <= m" in panel.split("#")[0] and "step 1" in panel  # the new goals
        term.send("u")  # undo
        screen = term.wait_for(r"undone: intros\.")
        screen = term.wait_for(done, 3)
        term.send("split (.")  # a syntax error: the message, and the program keeps running
        screen = term.wait_for(r"error: Syntax error")
        term.send("intros H")  # a typed tactic, checked
        term.wait_for(r"ran intros H\.")
        term.send("split")
        screen = term.wait_for(done, 5)
        last = screen[screen.rindex("step 2"):]
        assert "2 goals" in screen[screen.rindex("t: "):]
        term.send(_row_number(last, "lia."))  # closes the first goal
        screen = term.wait_for(done, 6)
        last = screen[screen.rindex("step 3"):]
        term.send(_row_number(last, "lia."))
        screen = term.wait_for(r"EXIT=\d+")
        assert "EXIT=0" in screen and "No goals left" in screen
        proof = screen[screen.rindex("\nProof.") + 1: screen.rindex("Qed.") + 4]
        assert proof.splitlines()[1:-1] == ["  intros H.", "  split.", "  lia.", "  lia."], proof
    finally:
        term.close()
    # the proof it printed is one `proofsmith check` accepts
    problems = tmp_path / "proof.jsonl"
    problems.write_text(json.dumps({"name": "t", "header": "", "statement": STATEMENT, "proof": proof}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["check", "--backend", "coq", "--workers", "1", str(problems), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["verdict"] == "proved"


@pytest.mark.slow
def test_json_with_the_default_model_asks_it(capsys):
    """The default: automation and the shipped SmolLM2 (CTranslate2 on CPU); --json waits for the model."""
    assert main(["suggest", "--json", "--model-k", "2", STATEMENT]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sources_skipped"] == [] and out["suggestions"][0]["tactic"] == "lia."
