"""The evaluation runner against real Coq: verdicts, resume after SIGKILL, Ray, coqc re-verification."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proofsmith.eval.runner import RunConfig, RunConfigError, run_eval

ROOT = Path(__file__).resolve().parent.parent
PROOFSMITH = [sys.executable, "-m", "proofsmith.cli"]

# Quick to prove or to fail with the portfolio, and no Reals (whose first axiom check costs seconds).
QUICK = [
    "mathd_algebra_125", "mathd_algebra_296", "mathd_algebra_304", "mathd_numbertheory_12",
    "imo_1959_p1", "induction_12dvd4expnp1p20", "amc12a_2002_p6", "aime_1984_p7",
]
QUICK_PROVED = {"mathd_algebra_125", "mathd_algebra_296", "mathd_algebra_304", "mathd_numbertheory_12"}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _outcomes(records: list[dict]) -> dict[str, tuple]:
    return {r["name"]: (r["verdict"], r["proof"], r["usable"]) for r in records}


def _eval_cmd(out: Path, problems: list[str], *extra: str) -> list[str]:
    return PROOFSMITH + [
        "eval", "--benchmark", "minif2f-coq", "--split", "test", "--prover", "portfolio",
        "--budget-s", "10", "--workers", "1", "--problems", ",".join(problems), "--out", str(out), *extra,
    ]


@pytest.mark.coq
def test_run_records_verdicts_unusable_statements_and_a_report(tmp_path):
    problems = ("mathd_algebra_160", "mathd_algebra_209", "mathd_algebra_304", "imo_1959_p1", "amc12a_2020_p15")
    config = RunConfig(benchmark="minif2f-coq", split="test", budget_s=10, workers=2, problems=problems)
    outcome = run_eval(config, tmp_path / "run", progress=False)
    records = {r["name"]: r for r in outcome.records}
    assert set(records) == set(problems)
    for name in ("mathd_algebra_160", "mathd_algebra_209", "mathd_algebra_304"):
        r = records[name]
        assert r["verdict"] == "proved" and r["proof"], r
        assert r["checker"]["backend"] == "coq" and r["checker"]["version"].startswith("8.16")
        assert r["checker"]["prelude"].startswith("From Coq Require Import")
        assert r["benchmark_source"] == {"repo": "LLM4Rocq/miniF2F-rocq", "commit": "b60affae5d9b81eb097424e3143c40165ccbe97b"}
        assert (r["prover"], r["model"], r["seed"], r["budget"]["wall_s"]) == ("portfolio", "none", 0, 10.0)
        assert r["attempts"] == 1 and r["successes"] == 1
    assert "Coq.Reals.ClassicalDedekindReals.sig_forall_dec" in records["mathd_algebra_160"]["axioms"]
    assert records["imo_1959_p1"]["verdict"] == "failed" and records["imo_1959_p1"]["usable"]
    unusable = records["amc12a_2020_p15"]
    assert not unusable["usable"] and "statement does not compile" in unusable["reason"]
    assert "dataset note" in unusable["reason"]

    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["usable"], summary["proved"], summary["unusable_count"]) == (4, 3, 1)
    assert summary["pass_rate"] == 0.75 and summary["complete"]
    assert summary["unusable"][0]["name"] == "amc12a_2020_p15"
    assert "amc12a_2020_p15" in (tmp_path / "run" / "report.md").read_text()

    # every proof the runner calls proved compiles with plain coqc, axioms from Coq's stdlib only
    done = subprocess.run([sys.executable, "-m", "proofsmith.cli", "recheck", str(tmp_path / "run"), "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 re-checked by plain coqc, 3 passed, 0 failed" in done.stdout
    assert "Coq.Reals.ClassicalDedekindReals.sig_forall_dec" in done.stdout

    # rerunning a finished run redoes nothing
    again = run_eval(config, tmp_path / "run", progress=False)
    assert again.newly_finished == 0 and len(_lines(tmp_path / "run" / "results.jsonl")) == len(problems)


@pytest.mark.coq
def test_verify_script_rejects_a_tampered_proof(tmp_path):
    config = RunConfig(benchmark="minif2f-coq", split="test", budget_s=10, problems=("mathd_algebra_304",))
    run_eval(config, tmp_path / "run", progress=False)
    results = tmp_path / "run" / "results.jsonl"
    record = _lines(results)[0]
    assert record["verdict"] == "proved"
    record["proof"] = "admit."
    results.write_text(json.dumps(record) + "\n")
    done = subprocess.run([sys.executable, "-m", "proofsmith.cli", "recheck", str(tmp_path / "run"), "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "FAILED proof mathd_algebra_304: the proof admits" in done.stdout


@pytest.mark.coq
def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(tmp_path):
    reference = tmp_path / "reference"
    subprocess.run(_eval_cmd(reference, QUICK, "--no-progress"), check=True, capture_output=True, timeout=300)
    expected = _outcomes(_lines(reference / "results.jsonl"))
    assert set(expected) == set(QUICK)
    assert {n for n, (v, _, _) in expected.items() if v == "proved"} == QUICK_PROVED

    killed = tmp_path / "killed"
    results = killed / "results.jsonl"
    proc = subprocess.Popen(_eval_cmd(killed, QUICK, "--no-progress"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if results.exists() and len(results.read_bytes().splitlines()) >= 2:
            break
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its Coq processes, no clean-up
    proc.wait()
    finished_before = len(_lines(results))
    assert 2 <= finished_before < len(QUICK), "the kill did not land mid-run"
    # a write torn by the kill: half a record without its newline
    with results.open("ab") as f:
        f.write(b'{"name": "mathd_algebra_296", "split": "test", "verd')

    done = subprocess.run(_eval_cmd(killed, QUICK, "--no-progress"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "proved 4/8 usable (50.0%)" in done.stdout
    records = _lines(results)
    names = [r["name"] for r in records]
    assert len(names) == len(set(names)) == len(QUICK), "lost or duplicated results"
    assert _outcomes(records) == expected


@pytest.mark.coq
@pytest.mark.slow
def test_ray_run_gives_the_local_results(tmp_path):
    problems = QUICK[:3] + QUICK[4:6]
    local = run_eval(RunConfig(benchmark="minif2f-coq", split="test", budget_s=10, workers=2, problems=tuple(problems)),
                     tmp_path / "local", progress=False)
    on_ray = run_eval(RunConfig(benchmark="minif2f-coq", split="test", budget_s=10, workers=2, problems=tuple(problems), ray=""),
                      tmp_path / "ray", progress=False)
    assert _outcomes(on_ray.records) == _outcomes(local.records)
    assert len(_lines(tmp_path / "ray" / "results.jsonl")) == len(problems)


def test_resuming_with_other_options_is_refused(tmp_path):
    config = RunConfig(benchmark="minif2f-coq", split="test", budget_s=10, problems=("mathd_algebra_304",))
    out = tmp_path / "run"
    out.mkdir()
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.eval.benchmarks import load_benchmark
    from proofsmith.eval.runner import _check_resume, _identity, select_problems

    bench = load_benchmark("minif2f-coq", "test")
    _check_resume(out, _identity(config, bench, select_problems(bench, None, config.problems, 0), CheckerSettings()))
    with pytest.raises(RunConfigError, match=r"started with other options \(budget_s: 10 then, 20 now\)"):
        run_eval(RunConfig(benchmark="minif2f-coq", split="test", budget_s=20, problems=("mathd_algebra_304",)), out)


def test_limit_draws_the_same_subset_for_the_same_seed():
    from proofsmith.eval.benchmarks import load_benchmark
    from proofsmith.eval.runner import select_problems

    bench = load_benchmark("minif2f-coq", "valid")
    a = [p.name for p in select_problems(bench, 20, None, 7)]
    assert a == [p.name for p in select_problems(bench, 20, None, 7)]
    assert a != [p.name for p in select_problems(bench, 20, None, 8)]
    assert len(a) == 20 and a == sorted(a, key=[p.name for p in bench.problems].index)
    with pytest.raises(RunConfigError, match="--problems: nope not in minif2f-coq valid"):
        select_problems(bench, None, ["nope"], 0)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--benchmark", "leandojo", "--split", "random/test"], "leandojo is not bundled: give --data PATH"),
        (["--benchmark", "minif2f-coq", "--split", "train"], "minif2f-coq has no split 'train'"),
        (["--benchmark", "minif2f-coq", "--attempts", "0"], "--attempts must be at least 1"),
        (["--benchmark", "minif2f-coq", "--problems", "nope"], "--problems: nope not in minif2f-coq test"),
        (["--benchmark", "minif2f-coq", "--data", "/no/such.jsonl"], "--data /no/such.jsonl: no such file or directory"),
        (["--benchmark", "minif2f-coq", "--prover", "nope"], "unknown prover 'nope'"),
        (["--benchmark", "minif2f-coq", "--backend", "kimina"], "--backend kimina cannot check minif2f-coq (coq); use coq"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    done = subprocess.run(PROOFSMITH + ["eval", *args, "--out", str(tmp_path / "run"), "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_bad_user_data_names_file_line_and_field(tmp_path):
    data = tmp_path / "mine.jsonl"
    data.write_text('{"name": "x", "split": "test"}\n')
    done = subprocess.run(PROOFSMITH + ["eval", "--benchmark", "minif2f-coq", "--data", str(data), "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"bad benchmark data: {data}:1: field 'header': missing" in done.stderr


def test_lean_benchmarks_fail_clearly_without_the_lean_backend(tmp_path):
    import shutil

    if shutil.which("lake") is not None:
        pytest.skip("a Lean toolchain is installed here")
    done = subprocess.run(PROOFSMITH + ["eval", "--benchmark", "minif2f-lean4", "--limit", "1", "--out", str(tmp_path / "run"),
                                        "--no-progress"], capture_output=True, text=True, timeout=120)
    assert done.returncode in (2, 3), done.stderr
    assert "lean" in done.stderr.lower() and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.coq
def test_a_proved_claim_is_counted_only_after_the_soundness_guard_accepts_it():
    from proofsmith.checker.types import Verdict
    from proofsmith.eval.benchmarks import load_benchmark
    from proofsmith.eval.evaluator import EvaluatorSpec, ProblemEvaluator
    from proofsmith.prover.base import Budget, Prover, ProverResult

    class ClaimsProved(Prover):
        """A prover that reports success for whatever script it is given."""

        name = "claims-proved"

        def __init__(self, script):
            self.script = script

        def prove(self, theorem, checker, budget):
            return ProverResult(theorem.name, Verdict.PROVED, proof=self.script)

    problem = next(p for p in load_benchmark("minif2f-coq", "test").problems if p.name == "mathd_algebra_304")
    evaluator = ProblemEvaluator(EvaluatorSpec("coq", "portfolio", {}, Budget(wall_s=10)))
    try:
        for script in ("admit.", "Admitted.", "idtac.", "reflexivity. Qed. Axiom cheat : False."):
            evaluator.prover = ClaimsProved(script)
            record = evaluator.evaluate(problem)
            assert record["verdict"] != "proved", script
            assert record["reason"].startswith("the soundness guard rejected the prover's proof"), record["reason"]
        evaluator.prover = ClaimsProved("reflexivity.")
        assert evaluator.evaluate(problem)["verdict"] == "proved"
    finally:
        evaluator.close()


def test_the_proving_loop_refuses_a_results_file_of_other_problems(tmp_path):
    """eval.runner.prove_problems (the one loop eval and iterate share) never mixes runs in one file."""
    from proofsmith.eval.benchmarks import load_benchmark
    from proofsmith.eval.evaluator import EvaluatorSpec
    from proofsmith.eval.runner import prove_problems
    from proofsmith.formats.run_records import ResultsFileError
    from proofsmith.prover.base import Budget

    problems = [p for p in load_benchmark("minif2f-coq", "test").problems if p.name == "mathd_algebra_304"]
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"name": "someone_else", "verdict": "proved"}) + "\n")
    with pytest.raises(ResultsFileError, match="holds results for problems outside this run: someone_else"):
        prove_problems(problems, EvaluatorSpec("coq", "portfolio", {}, Budget(wall_s=5)), path)
