"""The CLI's small things a new user trips on (issue 27, point 7), each against the real program."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import proofsmith.cli as cli
from proofsmith.cli import main

PROOFSMITH = str(Path(sys.executable).with_name("proofsmith"))
SPIN = "N.iter 100000000000%N negb true"  # minutes of vm_compute


@pytest.mark.coq
def test_check_takes_a_line_without_header_and_out_prints_a_summary(tmp_path, capsys):
    proofs = tmp_path / "proofs.jsonl"
    proofs.write_text(json.dumps({"name": "t", "statement": "Theorem t : 1 + 1 = 2.", "proof": "reflexivity."}) + "\n"
                      + json.dumps({"name": "u", "header": "", "statement": "Theorem u : 1 = 2.", "proof": "lia."})
                      + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["check", str(proofs), "--out", str(out), "--workers", "1"]) == 0
    assert [json.loads(line)["verdict"] for line in out.read_text().splitlines()] == ["proved", "failed"]
    err = capsys.readouterr().err
    assert f"proofsmith check: judged 2 proof(s): 1 proved, 1 failed; results: {out}" in err
    assert main(["check", str(proofs), "--out", str(out), "--workers", "1"]) == 0  # resumed: nothing left
    assert "judged 0 proof(s) (and 2 judged before, kept): nothing to do" in capsys.readouterr().err


@pytest.mark.coq
def test_an_eval_run_grows_from_a_smaller_limit(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["eval", "--benchmark", "minif2f-coq", "--split", "test", "--prover", "portfolio", "--budget-s", "2",
            "--workers", "1", "--no-progress", "--out", str(out)]
    assert main([*argv, "--limit", "2"]) == 0
    first = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    capsys.readouterr()
    assert main([*argv, "--limit", "3"]) == 0
    assert "growing the run from 2 to 3 problems" in capsys.readouterr().err
    grown = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(grown) == 3 and grown[:2] == first  # the finished ones are kept, not redone
    assert main([*argv, "--limit", "2"]) == 2  # shrinking is another run
    assert "was started with other options (problems: 3 problems then, 2 problems now)" in capsys.readouterr().err


def test_a_signal_inside_a_finalizer_ends_the_process_without_a_traceback(monkeypatch, capsys):
    exits: list[int] = []
    monkeypatch.setattr(cli, "_exit_soon", exits.append)
    monkeypatch.setattr(cli.child_process, "shutdown", lambda: None)  # the test process must keep its children
    monkeypatch.setattr(cli, "_stop_signal", None)

    class Finalized:
        def __del__(self):
            cli._on_exit_signal(signal.SIGINT, sys._getframe())  # as if Ctrl-C landed in Popen.__del__

    Finalized()  # no KeyboardInterrupt escapes the __del__ (it would be printed with its traceback)
    assert exits == [130]
    assert "interrupted (SIGINT) while shutting down" in capsys.readouterr().err
    monkeypatch.setattr(cli, "_stop_signal", None)
    with pytest.raises(KeyboardInterrupt):  # outside a finalizer the main thread unwinds as before
        cli._on_exit_signal(signal.SIGINT, sys._getframe())


@pytest.mark.coq
def test_interrupted_says_a_rerun_resumes(tmp_path):
    proofs = tmp_path / "proofs.jsonl"
    proofs.write_text(json.dumps({"name": "spin", "header": "Require Import NArith.",
                                  "statement": f"Theorem spin : {SPIN} = true.", "proof": "vm_compute. reflexivity."})
                      + "\n")
    proc = subprocess.Popen([PROOFSMITH, "check", str(proofs), "--out", str(tmp_path / "out.jsonl"), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not [p for p in psutil.Process(proc.pid).children(recursive=True) if p.name().startswith("coqidetop")]:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "interrupted (SIGINT); every process it started is stopped; what finished is saved: run the same " \
           "command again to resume" in err
    assert "Traceback" not in err
