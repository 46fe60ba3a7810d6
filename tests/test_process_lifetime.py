"""Every process proofsmith starts dies with it (issue 12, point 9).

`proofsmith eval` and `proofsmith check` run against real Coq on proofs that
keep coqidetop busy for minutes (`vm_compute` of 10^11 iterations, in little
memory); the test collects proofsmith's descendants, sends SIGINT, SIGTERM or
SIGKILL, and then finds none of them left: on SIGINT/SIGTERM proofsmith itself
exits within 5 s, keeping what finished; on SIGKILL it cannot clean up, and
the kernel's parent-death signal takes its children.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from .processes import alive

PROOFSMITH = str(Path(sys.executable).with_name("proofsmith"))
SPIN = "N.iter 100000000000%N negb true"  # minutes of vm_compute in a few MB
GRACE_S = 5.0


def _problem(name: str, header: str, statement: str) -> dict:
    return {"name": name, "split": "test", "header": header, "statement": statement, "compiles_coq816": True,
            "error": None, "debian_packages": [], "source": "proofsmith/tests@0000000 lifetime.v"}


EVAL_DATA = [
    _problem("quick", "", "Theorem quick : 1 + 1 = 2."),
    _problem("spin_a", "Require Import NArith.\n", f"Theorem spin_a : {SPIN} = true."),
    _problem("spin_b", "Require Import NArith.\n", f"Theorem spin_b : {SPIN} = true /\\ True."),
]
CHECK_DATA = [
    {"name": "quick", "header": "", "statement": "Theorem quick : 1 + 1 = 2.", "proof": "reflexivity."},
    {"name": "spin_a", "header": "Require Import NArith.\n", "statement": f"Theorem spin_a : {SPIN} = true.",
     "proof": "vm_compute. reflexivity."},
    {"name": "spin_b", "header": "Require Import NArith.\n", "statement": f"Theorem spin_b : {SPIN} = false.",
     "proof": "vm_compute. reflexivity."},
]


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _eval_cmd(tmp: Path) -> tuple[list[str], Path]:
    data = _write_jsonl(tmp / "problems.jsonl", EVAL_DATA)
    out = tmp / "run"
    cmd = [PROOFSMITH, "eval", "--benchmark", "minif2f-coq", "--split", "test", "--data", str(data), "--workers", "3",
           "--budget-s", "600", "--tactic-timeout-s", "600", "--out", str(out), "--no-progress"]
    return cmd, out / "results.jsonl"


def _check_cmd(tmp: Path) -> tuple[list[str], Path]:
    data = _write_jsonl(tmp / "proofs.jsonl", CHECK_DATA)
    out = tmp / "checked.jsonl"
    return [PROOFSMITH, "check", "--workers", "3", "--timeout", "600", str(data), "--out", str(out)], out


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _start_busy(cmd: list[str], finished: Path) -> tuple[subprocess.Popen, list[psutil.Process]]:
    """Start proofsmith and wait until the quick proof is written and two coqidetop processes are computing."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=os.environ | {"PROOFSMITH_WORKERS": "3"})
    deadline = time.monotonic() + 180
    descendants: list[psutil.Process] = []
    try:
        while True:
            assert proc.poll() is None, f"proofsmith ended early: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "coqidetop never got busy"
            try:
                descendants = psutil.Process(proc.pid).children(recursive=True)
                busy = [p for p in descendants if p.name().startswith("coqidetop") and p.cpu_times().user > 1.0]
            except psutil.NoSuchProcess:
                busy = []
            if len(busy) >= 2 and _lines(finished):
                return proc, descendants
            time.sleep(0.2)
    except BaseException:
        _kill_all(proc, descendants)
        raise


@pytest.mark.coq
@pytest.mark.parametrize("command", ["eval", "check"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_no_process_outlives_proofsmith(tmp_path, command, signum):
    cmd, finished = (_eval_cmd if command == "eval" else _check_cmd)(tmp_path)
    proc, descendants = _start_busy(cmd, finished)
    try:
        t0 = time.monotonic()
        proc.send_signal(signum)
        try:
            code = proc.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"proofsmith {command} still running {GRACE_S:g} s after {signum.name}")
        exit_s = time.monotonic() - t0
        while alive(descendants) and time.monotonic() - t0 < GRACE_S:
            time.sleep(0.1)
        left = alive(descendants)
        assert not left, f"left running after {signum.name}: {[(p.pid, p.name()) for p in left]}"
        assert code == (-signal.SIGKILL if signum == signal.SIGKILL else 128 + signum), proc.stderr.read()
        print(f"{command} {signum.name}: exited after {exit_s:.2f} s")
    finally:
        _kill_all(proc, descendants)

    # What finished before the signal is kept, whole.
    records = _lines(finished)
    assert [r["name"] for r in records][:1] == ["quick"]
    assert records[0]["verdict"] == "proved"


def _kill_all(proc: subprocess.Popen, descendants: list[psutil.Process]) -> None:
    """Clean up after a failure, so that a test of the old code leaves nothing spinning."""
    for p in alive(descendants) + ([psutil.Process(proc.pid)] if proc.poll() is None else []):
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait()


def _interrupt_when_busy(cmd: list[str], finished: Path) -> None:
    """Start proofsmith and SIGINT it once busy: it exits with 130, having kept the quick proof only."""
    proc, descendants = _start_busy(cmd, finished)
    try:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=GRACE_S) == 130
    finally:
        _kill_all(proc, descendants)
    assert [r["name"] for r in _lines(finished)] == ["quick"]


@pytest.mark.coq
def test_an_interrupted_eval_resumes(tmp_path):
    cmd, results = _eval_cmd(tmp_path)
    _interrupt_when_busy(cmd, results)

    # The rerun takes the run directory as it is and works only on what is left.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    coq: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while len(coq) < 2:
            assert proc.poll() is None, f"the rerun ended: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "the rerun never started its proofs"
            time.sleep(0.2)
            coq = [p for p in psutil.Process(proc.pid).children(recursive=True) if p.name().startswith("coqidetop")]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=GRACE_S) == 130
    finally:
        _kill_all(proc, coq)
    assert [r["name"] for r in _lines(results)] == ["quick"], "a finished problem was redone or lost"


@pytest.mark.coq
def test_an_interrupted_check_resumes(tmp_path):
    """SIGINT keeps the judged prefix of --out; a rerun judges only the rest, and refuses other input."""
    cmd, out = _check_cmd(tmp_path)
    _interrupt_when_busy(cmd, out)

    # the same input with the slow proofs replaced by quick ones: only those two are judged now
    quick = [CHECK_DATA[0]] + [dict(r, header="", statement=f"Theorem {r['name']} : True.", proof="exact I.")
                               for r in CHECK_DATA[1:]]
    _write_jsonl(tmp_path / "proofs.jsonl", quick)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "already judges the first 1 of 3" in done.stderr
    lines = _lines(out)
    assert [r["name"] for r in lines] == ["quick", "spin_a", "spin_b"]
    assert all(r["verdict"] == "proved" for r in lines)

    _write_jsonl(tmp_path / "proofs.jsonl", [dict(quick[0], name="other")])
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "holds results of other proofs" in refused.stderr
    assert len(_lines(out)) == 3


def test_a_child_outlives_the_thread_that_asked_for_it():
    """The parent-death signal fires when the forking *thread* ends: children are forked by one long-lived thread."""
    from proofsmith.checker import child_process

    box: list[subprocess.Popen] = []
    worker = threading.Thread(target=lambda: box.append(child_process.spawn(["sleep", "30"])))
    worker.start()
    worker.join()
    try:
        time.sleep(0.5)
        assert box[0].poll() is None, "the child died with the thread that started it"
    finally:
        child_process.kill(box[0])
    assert box[0].returncode == -signal.SIGKILL


def test_a_child_dies_when_proofsmith_is_killed(tmp_path):
    """SIGKILL of the parent: nothing can clean up, the kernel kills the child (and its process group)."""
    script = ("import sys, time; from proofsmith.checker import child_process; "
              "p = child_process.spawn(['sleep', '60']); print(p.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + GRACE_S
    while alive([child]) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = alive([child])
    for p in left:
        p.kill()
    assert not left, "the child outlived its killed parent"
