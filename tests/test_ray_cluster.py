"""`proofsmith eval --ray ADDRESS` on a real head node (issue 12, point 16).

The head is started on loopback with `ray start --head`, in a home folder
holding a token where Ray keeps it (~/.ray/auth_token, as `ray get-auth-token
--generate` or an earlier local `ray.init()` leave it), so the cluster uses
token authentication, as Ray does by default when a token exists. The head
runs with `--block` in its own process group and is stopped by signalling
that group (`ray stop` would also stop other Ray instances on the machine).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from .processes import alive

BIN = Path(sys.executable).parent
PROBLEMS = [
    {"name": "one_plus_one", "statement": "Theorem one_plus_one : 1 + 1 = 2.", "header": ""},
    {"name": "add_zero", "statement": "Theorem add_zero (n : nat) : n + 0 = n.", "header": ""},
]
SPIN = [
    {"name": "spin_a", "statement": "Theorem spin_a : N.iter 100000000000%N negb true = true.",
     "header": "Require Import NArith.\n"},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _busy_coq(p: psutil.Process) -> bool:
    try:
        return p.name().startswith("coqidetop") and p.cpu_times().user > 1.0
    except psutil.NoSuchProcess:
        return False


def _ours(p: psutil.Process) -> bool:
    """An actor of the run, or a Coq process one of them started."""
    try:
        return p.name().startswith(("coqidetop", "ray::ProblemEvaluator"))
    except psutil.NoSuchProcess:
        return False


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    return env | {"HOME": str(home)}


@pytest.fixture(scope="module")
def head():
    """A token-authenticated Ray head on 127.0.0.1; yields (address, its home folder)."""
    root = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    home = root / "home"
    home.mkdir()
    env = _clean_env(home)
    subprocess.run([BIN / "ray", "get-auth-token", "--generate"], env=env, check=True, capture_output=True, timeout=60)
    assert (home / ".ray" / "auth_token").is_file()
    port = _free_port()
    log = (root / "head.log").open("w")
    proc = subprocess.Popen(
        [BIN / "ray", "start", "--head", "--block", "--port", str(port), "--node-ip-address", "127.0.0.1",
         "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", str(root / "ray"),
         "--ray-client-server-port", str(_free_port()), "--dashboard-agent-listen-port", str(_free_port())],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while "Ray runtime started" not in (root / "head.log").read_text():
            assert proc.poll() is None, (root / "head.log").read_text()
            assert time.monotonic() < deadline, "the Ray head did not start"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}", home
    finally:
        members = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
        proc.terminate()  # `ray start --block` stops what it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        if proc.poll() is None:
            members.append(psutil.Process(proc.pid))
        for p in alive(members):
            p.kill()
        proc.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def _data(tmp: Path, problems: list[dict]) -> Path:
    path = tmp / "problems.jsonl"
    path.write_text("".join(json.dumps(p | {"split": "test", "compiles_coq816": True, "error": None, "debian_packages": [],
                                            "source": "proofsmith/tests@0000000 cluster.v"}) + "\n" for p in problems))
    return path


def _eval(tmp: Path, address: str, problems: list[dict], budget: str = "60") -> list[str]:
    return [str(BIN / "proofsmith"), "eval", "--benchmark", "minif2f-coq", "--split", "test", "--data",
            str(_data(tmp, problems)), "--workers", "2", "--budget-s", budget, "--tactic-timeout-s", budget,
            "--ray", address, "--out", str(tmp / "run"), "--no-progress"]


@pytest.mark.coq
def test_eval_runs_on_a_token_cluster_without_setting_anything(head, tmp_path):
    address, home = head
    done = subprocess.run(_eval(tmp_path, address, PROBLEMS), env=_clean_env(home), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "InvalidAuthToken" not in done.stderr
    assert "proved 2/2 usable" in done.stdout
    lines = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["name"] for line in lines) == sorted(p["name"] for p in PROBLEMS)


def test_a_machine_without_the_token_is_told_at_once_what_to_set(head, tmp_path):
    address, _ = head
    stranger = tmp_path / "home"
    stranger.mkdir()
    t0 = time.monotonic()
    done = subprocess.run(_eval(tmp_path, address, PROBLEMS), env=_clean_env(stranger), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    assert time.monotonic() - t0 < 15
    message = done.stderr.strip().splitlines()[-1]
    assert "token authentication" in message and "~/.ray/auth_token" in message and "RAY_AUTH_TOKEN" in message
    assert "Traceback" not in done.stderr

    (stranger / "token").write_text("0" * 64)
    done = subprocess.run(_eval(tmp_path, address, PROBLEMS), env=_clean_env(stranger) | {"RAY_AUTH_TOKEN_PATH": str(stranger / "token")},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "refused this machine's Ray token" in done.stderr, done.stderr[-3000:]


@pytest.mark.coq
def test_interrupting_a_cluster_run_stops_its_actors_and_their_coq(head, tmp_path):
    address, home = head
    raylets = [p for p in psutil.process_iter(["name", "environ"]) if p.info["name"] == "raylet"
               and (p.info["environ"] or {}).get("HOME") == str(home)]
    assert len(raylets) == 1
    proc = subprocess.Popen(_eval(tmp_path, address, SPIN, budget="600"), env=_clean_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "Coq never got busy on the cluster"
            workers = raylets[0].children(recursive=True)
            if any(_busy_coq(p) for p in workers):
                break
            time.sleep(0.2)
        doomed = [p for p in workers if _ours(p)]  # taken while they run: they may be gone by the time the run exits
        assert doomed
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        deadline = time.monotonic() + 10
        while alive(doomed) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(doomed), [(p.pid, p.name()) for p in alive(doomed)]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
