"""`proofsmith iterate`: config validation, the report, and one tiny round killed mid-way and resumed
(real Coq checker, real SmolLM2-135M model; slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proofsmith.iterate.config import IterateConfigError, load_config, validate

ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT / ".cache" / "trace" / "stdlib"
MUTANTS = ROOT / ".cache" / "mutants" / "stdlib.jsonl"

TINY = """
[run]
rounds = 1
seed = 0
[data]
trace = "{trace}"
mutants = "{mutants}"
[pools]
library = 3
library_per_round = 3
mutants = 3
mutants_per_round = 3
[prover]
name = "search"
workers = 2
budget_s = 6
tactic_timeout_s = 3
attempts = 2
conjecture_attempts = 2
[prover.options]
decoding = "sample"
threads = 1
model_tactics = 2
[conjecturer]
inputs_per_round = 3
max_tokens = 48
threads = 1
[training]
max_steps = 1
batch_size = 1
max_length = 160
max_prompt_tokens = 128
train_layers = 2
mutation_examples = 4
mutation_replay = 2
human_examples = 4
threads = 1
[heldout]
stdlib_val = 1
minif2f_valid = 1
budget_s = 5
[memory]
enabled = true
from_trace = false
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "iterate.toml"
    path.write_text(text)
    return path


# ------------------------------------------------------------------ config


def test_examples_validate():
    for name in ("iterate-cpu.toml", "iterate-cpu-a.toml", "iterate-cpu-b.toml", "iterate-cpu-lm.toml", "iterate-gpu.toml",
                 "iterate-cpu-val.toml"):
        config = load_config(ROOT / "examples" / name)
        assert config.run.rounds >= 3 and config.prover.name in ("search", "memory-search")
    # the val-pool example is arm c with the pool drawn from novel_premises/val (and test held out)
    arm_c, val = load_config(ROOT / "examples" / "iterate-cpu.toml"), load_config(ROOT / "examples" / "iterate-cpu-val.toml")
    assert arm_c.pools.library_split == "train" and val.pools.library_split == "val"
    assert val.library_pool_split == "novel_premises/val" and val.heldout.stdlib_split == "novel_premises/test"
    assert val.model_copy(update={"pools": arm_c.pools}) == arm_c


@pytest.mark.parametrize("text, message", [
    ("[pools]\nlibary = 3\n", "pools.libary: unknown key"),
    ("[prover]\nbudget_s = \"20\"\n", "prover.budget_s: expected a number"),
    ("[run]\nrounds = 0\n", "run.rounds: must be positive"),
    ("[conjecturer]\nmax_pass_rate = 1.5\n", "conjecturer.max_pass_rate: must be between 0 and 1"),
    ("[provers]\nname = \"x\"\n", "unknown section [provers]"),
    ("[prover]\nname = \"portfolio\"\n", "prover.name: 'portfolio' runs no model"),
    ("[prover.options]\nfrobnicate = 1\n", "prover.options: prover 'search' takes no option frobnicate"),
    ("[prover.options]\nmodel = \"x\"\n", "prover.options.model"),
    ("[memory]\nenabled = 1\n", "memory.enabled: expected true or false"),
    ("[conjecturer]\ngenerator = \"model-free\"\n", "conjecturer.generator: expected one of 'auto'"),
    ("[conjecturer]\ngenerator = \"openai-server\"\n", "conjecturer.generator: \"openai-server\" needs conjecturer.model_url"),
    ("[conjecturer]\ngenerator = \"openai-server\"\nmodel_url = \"http://localhost:8000/v1\"\n", "conjecturer.model: name the model"),
    ("[conjecturer]\ngenerator = \"openai-server\"\nmodel_url = \"localhost:8000\"\nmodel = \"m\"\n",
     "conjecturer.model_url: model URL 'localhost:8000': expected http://HOST"),
    ("[conjecturer]\nmodel_url = \"http://localhost:8000/v1\"\nmodel = \"m\"\n",
     "conjecturer.model_url is for a served conjecturer"),
    ("[conjecturer]\ngenerator = \"openai-server\"\nmodel_url = \"http://localhost:8000/v1\"\nmodel = \"m\"\n"
     "sources = [\"symbolic\"]\n", "conjecturer.model_url: conjecturer.sources has no \"model\""),
    ("[training]\ndevice = \"gpu0\"\n", "training.device: expected one of 'auto' or 'cpu'"),
    ("[training]\nmax_steps = 1.5\n", "training.max_steps: expected an integer"),
    ("pools = 3\n", "pools: expected a table"),
    ("[prover]\nsample_temperature = -0.5\n", "prover.sample_temperature: must be at least 0"),
    ("[prover]\nsample_temperature = nan\n", "prover.sample_temperature"),
    ("[prover.options]\nsample_temperature = 1.0\n", "prover.options.sample_temperature: set prover.sample_temperature"),
    ("[prover]\nname = \"portfolio\"\nsample_temperature = 1.0\n[training]\nenabled = false\n",
     "prover.sample_temperature: 'portfolio' does not sample its search order"),
    ("[pools]\nlibrary_split = \"val\"\n", "pools.library_split: \"val\" draws the pool from random/val, which "
     "heldout.stdlib_split also holds out; set heldout.stdlib_split = \"random/test\""),
    ("[pools]\nlibrary_split = \"val\"\n[heldout]\nstdlib_split = \"novel_premises/val\"\n",
     "pools.library_split: \"val\" draws the pool from novel_premises/val"),
    ("[pools]\nlibrary_split = \"test\"\n", "pools.library_split: expected one of 'train' or 'val'"),
])
def test_config_errors_name_the_key(tmp_path, text, message):
    with pytest.raises(IterateConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        load_config(_write(tmp_path, text))


def test_sample_temperature_reaches_pool_attempts_but_not_heldout(tmp_path):
    from proofsmith.iterate.run import IterationRun

    config = load_config(ROOT / "examples" / "iterate-cpu.toml")
    assert config.prover.sample_temperature > 0
    run = IterationRun(config, tmp_path / "run", progress=False)
    assert run.prover_options("default", 0, sampled=True)["sample_temperature"] == config.prover.sample_temperature
    assert "sample_temperature" not in run.prover_options("default", 0)
    assert "sample_temperature" not in IterationRun(validate({}), tmp_path / "run0").prover_options("default", 0, True)


def test_a_run_started_before_library_split_existed_still_resumes(tmp_path):
    """An old run's config.json has no pools.library_split: it counts as its default ("train"), so the same config
    resumes, and a val pool does not."""
    from proofsmith.iterate.run import IterateError, IterationRun

    config = load_config(ROOT / "examples" / "iterate-cpu.toml")
    out = tmp_path / "run"
    out.mkdir()
    old = config.identity()
    del old["pools"]["library_split"]
    (out / "config.json").write_text(json.dumps(old))
    assert config.differing(old) == []
    IterationRun(config, out, progress=False).check_identity()
    assert json.loads((out / "config.json").read_text()) == old  # the stored identity is left as it was
    val = load_config(ROOT / "examples" / "iterate-cpu-val.toml")
    assert val.differing(old) == ["pools.library_split"]
    with pytest.raises(IterateError, match=r"pools\.library_split differ"):
        IterationRun(val, out, progress=False).check_identity()


def test_config_defaults_and_cli_error(tmp_path):
    config = validate({})
    assert config.conjecturer.min_seed_rate == 0.35 and config.conjecturer.max_lemma_share == 0.10
    path = _write(tmp_path, "[pools]\nlibary = 3\n")
    result = subprocess.run([sys.executable, "-m", "proofsmith.cli", "iterate", "--config", str(path), "--out",
                             str(tmp_path / "run")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "pools.libary: unknown key" in result.stderr
    assert not (tmp_path / "run").exists()


def test_report_from_metrics(tmp_path):
    from proofsmith.iterate.records import MetricsLine
    from proofsmith.iterate.report import write_iterate_report

    common = {"model": "m", "conjectures_attempted": 0, "conjectures_proved": 0, "memory": {}, "stage_finished_at": {}}
    lines = [MetricsLine.model_validate(x | common).model_dump() for x in (
        {"round": 0, "attempted": 0, "proved": 0, "dataset_attempted": 0, "dataset_proved": 0,
         "cumulative_attempted": 0, "cumulative_proved": 0, "new_proofs": 0,
         "funnel": {}, "heldout": {"stdlib-val": {"proved": 1, "usable": 10, "pass_rate": 0.1, "selected": 10}},
         "train_first_loss": 3.0, "train_last_loss": 2.0, "seconds_this_run": 60},
        {"round": 1, "attempted": 12, "proved": 4, "dataset_attempted": 10, "dataset_proved": 3,
         "cumulative_attempted": 12, "cumulative_proved": 4, "new_proofs": 4,
         "funnel": {"generated": 10, "well_formed": 5, "new": 4, "proved": 2, "barely_provable": 1, "kept": 1},
         "heldout": {"stdlib-val": {"proved": 2, "usable": 10, "pass_rate": 0.2, "selected": 10,
                                    "interval_95": [0.0567, 0.5098]}},
         "seconds_this_run": 120},
    )]
    # a line written before the pool's cumulative counts were recorded gets them from the lines before it
    del lines[1]["cumulative_dataset_attempted"], lines[1]["cumulative_dataset_proved"]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (tmp_path / "round-1").mkdir()
    (tmp_path / "round-1" / "funnel.json").write_text(json.dumps({
        "counts": lines[1]["funnel"], "ill_formed": {"syntax error": 5}, "not_new": {"duplicate": 1},
        "dropped": {}, "examples": {"kept": [{"name": "conj_r1_0_0", "seed": "s", "lemma": None, "statement": "True"}]}}))
    html = write_iterate_report(tmp_path).read_text()
    assert "2/10 (20.0%) [5.7%, 51.0%]" in html and "syntax error 5" in html and "conj_r1_0_0" in html
    assert "3/10" in html  # the pool proved so far
    assert html.count("<img") == 3  # proved per round, held-out, funnel
    assert "| 1 | 12 | 4 |" in (tmp_path / "report.md").read_text()


# ------------------------------------------------------------------ a tiny round, killed and resumed


def _lines(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory):
    if not (TRACE / "random" / "train.json").is_file() or not MUTANTS.is_file():
        pytest.skip("needs the traced stdlib (.cache/trace/stdlib) and its mutants (.cache/mutants/stdlib.jsonl)")
    tmp = tmp_path_factory.mktemp("iterate")
    config = _write(tmp, TINY.format(trace=TRACE, mutants=MUTANTS))
    out = tmp / "run"
    command = [sys.executable, "-m", "proofsmith.cli", "iterate", "--config", str(config), "--out", str(out),
               "--no-progress"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    log1 = (tmp / "first.log").open("w")
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log1, stderr=subprocess.STDOUT, start_new_session=True)
    pool = out / "round-1" / "pool.jsonl"
    deadline = time.monotonic() + 1500
    try:
        # kill it in the middle of round 1's proving: some statements finished, the stage not
        while time.monotonic() < deadline and first.poll() is None and not _lines(pool):
            time.sleep(0.5)
        assert first.poll() is None, (tmp / "first.log").read_text()[-3000:]
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    before = {
        "pool": _lines(pool),
        "state0": json.loads((out / "round-0" / "state.json").read_text()),
        "state1": json.loads((out / "round-1" / "state.json").read_text()) if (out / "round-1" / "state.json").is_file() else {},
        "model0": (out / "round-0" / "model" / "final" / "model.safetensors").stat().st_mtime_ns,
    }
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    return out, before, second.stdout


@pytest.mark.slow
@pytest.mark.coq
def test_a_killed_round_resumes_without_redoing_finished_work(resumed_run):
    out, before, _ = resumed_run
    assert before["pool"] and "prove" not in before["state1"]  # killed mid-proving
    # round 0 (training, held-out) was finished and is not redone
    state0 = json.loads((out / "round-0" / "state.json").read_text())
    assert state0 == before["state0"]
    assert (out / "round-0" / "model" / "final" / "model.safetensors").stat().st_mtime_ns == before["model0"]
    # statements proved before the kill keep their records; none is proved twice
    pool = _lines(out / "round-1" / "pool.jsonl")
    names = [r["name"] for r in pool]
    assert len(names) == len(set(names)) == 6
    after = {r["name"]: r for r in pool}
    for r in before["pool"]:
        assert after[r["name"]]["finished_at"] == r["finished_at"]
    # and the run is complete: one metrics line per round
    assert [m["round"] for m in _lines(out / "metrics.jsonl")] == [0, 1]


@pytest.mark.slow
@pytest.mark.coq
def test_one_tiny_round_end_to_end(resumed_run):
    out, _, stdout = resumed_run
    rd = out / "round-1"
    state = json.loads((rd / "state.json").read_text())
    for stage in ("prove", "conjectures", "prove_conjectures", "traced", "select", "memory", "examples", "train", "heldout"):
        assert stage in state, stage
    metrics = _lines(out / "metrics.jsonl")[1]
    assert metrics["dataset_attempted"] == 6
    assert metrics["funnel"]["generated"] == len(_lines(rd / "conjectures.jsonl"))
    # every conjecture is accounted for: ill-formed with Coq's reason, or keyed
    for c in _lines(rd / "conjectures.jsonl"):
        assert c["status"] in ("ill-formed", "copy of seed", "duplicate", "new")
        assert (c["reason"] and c["message"]) if c["status"] == "ill-formed" else c["key"]
    # every verified proof is traced and trains the next model, whose files the manifest hashes
    proofs = _lines(rd / "proofs.jsonl")
    assert len(proofs) == metrics["proved"]
    kinds = json.loads((rd / "model" / "summary.json").read_text())["kinds"]
    assert kinds.get("prover-human") and kinds.get("conjecture-mutation")
    if any(p["steps"] for p in proofs):
        assert kinds.get("prover-proof-step")
    manifest = json.loads((rd / "manifest.json").read_text())
    assert manifest["model"]["sha256"] and manifest["files"]["train.jsonl"]["sha256"]
    assert manifest["inputs"]["base_model"].endswith("round-0/model/final")
    assert state["memory"]["status"] in ("updated",) or "not installed" in state["memory"]["status"]
    held = metrics["heldout"]
    assert held["stdlib-val"]["selected"] == 1 and held["minif2f-valid"]["selected"] == 1
    assert (out / "report.html").is_file() and "round 1: proved" in stdout
    # `proofsmith recheck` re-checks every proof and kept conjecture with plain coqc, under their recorded prelude
    result = subprocess.run([sys.executable, "-m", "proofsmith.cli", "recheck", str(rd), "--no-progress"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.coq
def test_proving_a_pool_through_ray_gives_the_local_results(tmp_path):
    """`--ray`: a round's proving goes through eval.runner's Ray actors, into the same resumable file."""
    if not MUTANTS.is_file():
        pytest.skip("needs the stdlib mutants (.cache/mutants/stdlib.jsonl)")
    from proofsmith.eval.evaluator import EvaluatorSpec
    from proofsmith.eval.runner import prove_problems
    from proofsmith.iterate.pools import mutant_problems
    from proofsmith.prover.base import Budget

    problems, _ = mutant_problems(MUTANTS, 3, set(), seed=1)
    spec = EvaluatorSpec("coq", "model-free-search", {}, Budget(wall_s=5, attempts=2, tactic_timeout_s=3), {"round": 1})
    run = lambda ray, name: prove_problems(problems, spec, tmp_path / name, 2, ray).by_problem(problems)  # noqa: E731
    local, on_ray = run(None, "local.jsonl"), run("", "ray.jsonl")
    assert [(r["name"], r["verdict"], r["successes"]) for r in on_ray] == \
        [(r["name"], r["verdict"], r["successes"]) for r in local]
    assert len(_lines(tmp_path / "ray.jsonl")) == 3 and run("", "ray.jsonl") == on_ray  # finished: nothing redone


def test_heldout_interval_is_wilsons():
    from proofsmith.iterate.heldout import wilson_interval

    assert wilson_interval(2, 10) == (0.0567, 0.5098)  # the textbook 95% Wilson interval of 2/10
    assert wilson_interval(0, 150) == (0.0, 0.025) and wilson_interval(5, 5)[1] == 1.0
    assert wilson_interval(0, 0) is None


def test_the_ablation_table_has_a_row_per_arm_and_round(tmp_path):
    from proofsmith.iterate.ablation import ablation_markdown, main

    for arm, proved in (("arm-a", 3), ("arm-c", 5)):
        run = tmp_path / arm
        run.mkdir()
        (run / "config.json").write_text(json.dumps({"prover": {"budget_s": 20}}))
        base = {"model": "", "attempted": 10, "dataset_attempted": 10, "conjectures_attempted": 0,
                "conjectures_proved": 0, "cumulative_attempted": 10, "cumulative_proved": proved,
                "seconds_this_run": 1, "stage_finished_at": {}}
        lines = [dict(base, round=0, proved=0, dataset_proved=0, new_proofs=0, funnel={}, memory={"steps_after": 100},
                      heldout={"stdlib-novel_premises-test": {"proved": 20, "usable": 150, "pass_rate": 0.1333,
                                                              "selected": 150, "interval_95": [0.0879, 0.1969]}}),
                 dict(base, round=1, proved=proved, dataset_proved=proved, new_proofs=proved,
                      cumulative_dataset_attempted=10, cumulative_dataset_proved=proved,
                      funnel={"generated": 8, "well_formed": 6, "new": 5, "proved": 3, "kept": 1},
                      memory={"steps_after": 140}, heldout={})]
        (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    table = ablation_markdown([tmp_path / "arm-a", tmp_path / "arm-c"])
    assert "| arm-a (20 s) | 0 | - | 0 |" in table and "| arm-c (20 s) | 1 | 5/10 | 5 | 8 | 6 | 5 | 3 | 1 | 140 | - |" in table
    assert "20/150 (13.3%) [8.8%, 19.7%]" in table
    assert main([str(tmp_path / "nope")]) == 2
