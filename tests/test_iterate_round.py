"""A tiny round of `proofsmith iterate` on the fixture library (tests/fixtures/tracelib), with the real Coq
checker and a tiny randomly initialised model (no .cache needed): every stage runs and leaves its typed records,
a run killed after a stage resumes without redoing it, and --dry-run prints the plan."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .test_coq_library import traced_library  # noqa: F401  (the traced fixture library)
from .test_prover_learned import build_tiny_model

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """
[run]
rounds = 1
seed = 0
[data]
trace = "{trace}"
mutants = "{trace}/no-mutants.jsonl"
[pools]
library = 4
library_per_round = 4
mutants = 0
mutants_per_round = 0
[prover]
name = "search"
model = "{model}"
workers = 1
budget_s = 4
tactic_timeout_s = 2
attempts = 2
conjecture_attempts = 2
[prover.options]
generator = "transformers"
decoding = "sample"
model_tactics = 1
threads = 1
[conjecturer]
inputs_per_round = 2
max_tokens = 12
generator = "transformers"
min_seed_rate = 0.0
threads = 1
sources = ["model", "symbolic"]
symbolic_per_seed = 4
mutation_attempts = 8
[training]
max_steps = 1
batch_size = 2
max_length = 128
max_prompt_tokens = 96
mutation_examples = 0
mutation_replay = 0
human_examples = 4
threads = 1
device = "cpu"
[heldout]
stdlib_val = 1
minif2f_valid = 0
budget_s = 3
[memory]
enabled = true
from_trace = true
"""


@pytest.fixture(scope="module")
def tiny_config(traced_library, tmp_path_factory):  # noqa: F811
    _, trace = traced_library
    tmp = tmp_path_factory.mktemp("iterate_round")
    model = build_tiny_model(tmp / "model")
    path = tmp / "iterate.toml"
    path.write_text(CONFIG.format(trace=trace, model=model))
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


@pytest.fixture(scope="module")
def tiny_run(tiny_config, tmp_path_factory):
    from proofsmith.iterate.config import load_config
    from proofsmith.iterate.run import IterationRun
    from proofsmith.iterate.stages import StopAfter

    config = load_config(tiny_config)
    out = tmp_path_factory.mktemp("iterate_run") / "run"
    with pytest.raises(StopAfter):
        IterationRun(config, out, progress=False, stop_after="1:prove").run()
    before = json.loads((out / "round-1" / "state.json").read_text())
    pool_before = _lines(out / "round-1" / "pool.jsonl")
    metrics = IterationRun(config, out, progress=False).run()
    return out, before, pool_before, metrics


@pytest.mark.coq
def test_a_tiny_round_runs_every_stage_on_the_fixture_library(tiny_run):
    out, _, _, metrics = tiny_run
    assert [m.round for m in metrics] == [0, 1]
    state0 = json.loads((out / "round-0" / "state.json").read_text())
    state1 = json.loads((out / "round-1" / "state.json").read_text())
    assert {"memory", "examples", "train", "heldout"} <= set(state0)
    for stage in ("prove", "conjectures", "prove_conjectures", "traced", "select", "memory", "examples", "train",
                  "heldout"):
        assert stage in state1, stage
    # the pool slice is proved with verdicts from the real checker, each re-checked by the soundness guard
    pool = _lines(out / "round-1" / "pool.jsonl")
    assert len(pool) == 4 and all(r["verdict"] in ("proved", "failed", "timeout", "error") for r in pool)
    assert metrics[1].dataset_attempted == 4 and metrics[1].dataset_proved == sum(r["verdict"] == "proved" for r in pool)
    # every verified proof is traced and learned by the memory, which round 0 seeded from the trace
    proofs = _lines(out / "round-1" / "proofs.jsonl")
    assert len(proofs) == metrics[1].proved
    assert state0["memory"]["status"] == "updated" and state0["memory"]["from"].endswith("random/train")
    assert state1["memory"]["from"].endswith("round-0/memory")
    assert state1["memory"]["proofs_added"] == sum(bool(p["steps"]) for p in proofs)
    assert (out / "round-1" / "memory" / "DONE").is_file()
    # every conjecture is accounted for (ill-formed with Coq's reason, or keyed)
    for c in _lines(out / "round-1" / "conjectures.jsonl"):
        assert c["status"] in ("ill-formed", "copy of seed", "duplicate", "new")
        assert (c["reason"] and c["message"]) if c["status"] == "ill-formed" else c["key"]
    conjectures = _lines(out / "round-1" / "conjectures.jsonl")
    assert metrics[1].funnel["generated"] == len(conjectures)
    # the symbolic conjecturer (mutation and generalising operators on proved statements) feeds the same funnel:
    # its new statements elaborate in their seed's environment and are proved like the model's
    symbolic = [c for c in conjectures if c["source"] == "symbolic"]
    assert any(c["status"] == "new" for c in symbolic), symbolic
    attempted = {r["name"] for r in _lines(out / "round-1" / "conjecture_results.jsonl")}
    assert {c["name"] for c in conjectures if c["status"] == "new"} == attempted
    # round 1 trains from round 0's model; held-out ran with round 1's memory
    summary = json.loads((out / "round-1" / "model" / "summary.json").read_text())
    assert summary["base_model"].endswith("round-0/model/final") and summary["steps"] == 1
    run_json = json.loads((out / "round-1" / "heldout" / "stdlib-val" / "run.json").read_text())
    assert run_json["prover_options"]["memory"].endswith("round-1/memory")
    assert metrics[1].heldout["stdlib-val"].selected == 1
    assert (out / "report.html").is_file() and (out / "round-1" / "manifest.json").is_file()
    # every proof and kept conjecture of the round re-checks with plain coqc (proofsmith recheck)
    done = subprocess.run([sys.executable, "-m", "proofsmith.cli", "recheck", str(out / "round-1")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    passed = re.search(r"(\d+) passed, 0 failed", done.stdout)
    assert done.returncode == 0 and passed and int(passed.group(1)) >= len(proofs), done.stdout + done.stderr


@pytest.mark.coq
def test_a_run_stopped_after_a_stage_resumes_without_redoing_it(tiny_run):
    out, before, pool_before, _ = tiny_run
    assert set(before) == {"started", "prove"}
    after = json.loads((out / "round-1" / "state.json").read_text())
    assert after["prove"] == before["prove"]  # the marked stage was skipped, not redone
    pool = _lines(out / "round-1" / "pool.jsonl")
    assert [(r["name"], r["finished_at"]) for r in pool] == [(r["name"], r["finished_at"]) for r in pool_before]


def test_dry_run_prints_the_plan_and_writes_nothing(tiny_config, tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "proofsmith.cli", "iterate", "--config", str(tiny_config), "--out",
                           str(out), "--dry-run"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pools: 4 library theorems of random/train (4 a round), 0 mutants" in done.stdout
    assert "round 1: stages prove, conjectures" in done.stdout and "<= 0.3 min" in done.stdout
    assert not out.exists()


def test_a_missing_named_input_is_refused_before_round_0(tiny_config, tmp_path):
    text = tiny_config.read_text().replace("mutants = 0\n", "mutants = 2\n", 1)
    path = tmp_path / "iterate.toml"
    path.write_text(text)
    done = subprocess.run([sys.executable, "-m", "proofsmith.cli", "iterate", "--config", str(path), "--out",
                           str(tmp_path / "run")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "data.mutants:" in done.stderr and "pools.mutants" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()


def test_the_generalising_operators():
    from proofsmith.iterate.symbolic import generalisations, split_top_level_arrows

    assert split_top_level_arrows("0 < n -> (m <= n -> n = m) -> a <-> b") == ["0 < n", "(m <= n -> n = m)", "a <-> b"]
    assert generalisations("forall n, 0 < n -> 0 < double n") == [
        ("drop-hypothesis", "forall n, 0 < double n"),
        ("converse", "forall n, 0 < double n -> 0 < n"),
        ("numeral-to-variable", "forall c, forall n, c < n -> 0 < double n"),
        ("change-numeral", "forall n, 1 < n -> 0 < double n"),
    ]
    assert ("numeral-to-variable", "forall c1, forall c, c + c1 = S c") in generalisations("forall c, c + 1 = S c")
    assert generalisations("forall x, twice (fun y => y) x = x") == []  # nothing to generalise: no copy of the seed


ARM_C = """
[run]
rounds = 1
[data]
trace = "{trace}"
mutants = "{trace}/no-mutants.jsonl"
[pools]
library = 4
library_per_round = 4
mutants = 0
mutants_per_round = 0
[prover]
name = "memory-search"
workers = 1
budget_s = 4
tactic_timeout_s = 2
attempts = 2
conjecture_attempts = 2
[conjecturer]
inputs_per_round = 3
min_seed_rate = 0.0
sources = ["symbolic"]
symbolic_per_seed = 3
mutation_attempts = 8
[training]
enabled = false
mutation_examples = 0
mutation_replay = 0
[heldout]
stdlib_split = "novel_premises/test"
stdlib_val = 1
minif2f_valid = 0
budget_s = 3
[memory]
conjectures = "kept"
"""


@pytest.mark.coq
def test_a_cpu_round_learns_with_the_memory_alone_and_holds_out_novel_premises(traced_library, tmp_path):  # noqa: F811
    """Arm (c) on CPU: the memory is the learner (no model), conjectures are symbolic, the held-out split is
    novel_premises/test (its val and test theorems never enter the pool) with a 95% interval."""
    from proofsmith.iterate.config import validate
    from proofsmith.iterate.run import IterationRun

    _, trace = traced_library
    config = validate(tomllib.loads(ARM_C.format(trace=trace)))
    out = tmp_path / "run"
    metrics = IterationRun(config, out, progress=False).run()
    assert [m.round for m in metrics] == [0, 1]
    assert not list(out.rglob("model")) and not list(out.rglob("train.jsonl"))  # nothing trained
    held_out = {t["full_name"] for part in ("val", "test")
                for t in json.loads((trace / "novel_premises" / f"{part}.json").read_text())}
    pool = _lines(out / "round-1" / "pool.jsonl")
    assert len(pool) == 4 and not {r["name"] for r in pool} & held_out
    state1 = json.loads((out / "round-1" / "state.json").read_text())
    assert state1["conjectures"]["by_source"] == {"symbolic": state1["conjectures"]["generated"]}
    counts = metrics[1].heldout["stdlib-novel_premises-test"]
    assert counts.selected == 1 and counts.interval_95 is not None
    lo, hi = counts.interval_95
    assert 0 <= lo <= (counts.pass_rate or 0) <= hi <= 1
    # the memory learned the pool's proofs and only the kept conjectures
    kept = {k["name"] for k in _lines(out / "round-1" / "kept_conjectures.jsonl")}
    learned = [p for p in _lines(out / "round-1" / "proofs.jsonl") if p["steps"]
               and (p["pool"] != "conjectures" or p["name"] in kept)]
    assert state1["memory"]["proofs_added"] == len(learned)
    run_json = json.loads((out / "round-1" / "heldout" / "stdlib-novel_premises-test" / "run.json").read_text())
    assert run_json["prover_options"]["memory"].endswith("round-1/memory")


@pytest.mark.coq
def test_a_val_pool_proves_val_theorems_whose_human_proofs_nothing_learns(traced_library, tmp_path):  # noqa: F811
    """pools.library_split = "val": the pool is the strategy's val theorems, in context, with their human proofs
    dropped on reading; the memory (seeded from train) and the training rows hold no human proof of them, only
    the proofs the round found; val no longer counts as held out (test does)."""
    from proofsmith.iterate import training
    from proofsmith.iterate.config import validate
    from proofsmith.iterate.layout import RunLayout
    from proofsmith.iterate.pools import RunInputs
    from proofsmith.iterate.run import IterationRun
    from proofsmith.prover.tactic_memory import TacticMemory

    _, trace = traced_library
    # the random strategy: its val theorem (1 + 1 = 2) is within a 4 s search's reach, so the round learns it
    text = ARM_C.format(trace=trace).replace("library_per_round = 4\n", "library_per_round = 4\nlibrary_split = \"val\"\n")
    config = validate(tomllib.loads(text.replace('stdlib_split = "novel_premises/test"', 'stdlib_split = "random/test"')))
    val = json.loads((trace / "random" / "val.json").read_text())
    test = {t["full_name"] for t in json.loads((trace / "random" / "test.json").read_text())}
    val_names = {t["full_name"] for t in val}
    human = {(s["state_before"], s["tactic"].strip()) for t in val for s in t["traced_tactics"]}
    assert val_names and human and not val_names & test
    inputs = RunInputs(config)
    pools = inputs.pools
    assert {p.name for p in pools.library} == val_names and {p.split for p in pools.library} == {"random/val"}
    assert all(p.reference_proof is None and p.theorem.place is not None for p in pools.library)
    assert all(pools.library_info[n].proof == "" for n in val_names)
    assert pools.heldout_names == test and not val_names & set(inputs.train_proofs)

    out = tmp_path / "run"
    metrics = IterationRun(config, out, progress=False).run()
    assert [m.round for m in metrics] == [0, 1]
    pool = _lines(out / "round-1" / "pool.jsonl")
    assert {r["name"] for r in pool} == val_names and {r["split"] for r in pool} == {"random/val"}
    proofs = {p["name"]: p for p in _lines(out / "round-1" / "proofs.jsonl")}
    found = {n for n in val_names if n in proofs and proofs[n]["steps"]}
    assert found, pool
    # round 0's memory (the train split's human proofs) has no val theorem; round 1's holds, for each, exactly the
    # steps the round found and traced, and nothing else was added
    before = TacticMemory.load(out / "round-0" / "memory")
    assert not before.theorems() & val_names
    after = TacticMemory.load(out / "round-1" / "memory")
    for name in val_names:
        example = after.proof(name)
        if name in found:
            assert example is not None and list(example.tactics) == [t.strip() for _, t in proofs[name]["steps"]]
        else:
            assert example is None
    state1 = json.loads((out / "round-1" / "state.json").read_text())
    learned = [p for p in proofs.values() if p["steps"] and (p["pool"] != "conjectures" or p["name"] in
               {k["name"] for k in _lines(out / "round-1" / "kept_conjectures.jsonl")})]
    assert state1["memory"]["steps_after"] - state1["memory"]["steps_before"] == sum(len(p["steps"]) for p in learned)
    # the training rows of this round (had training been on): no human step of a val theorem, its states only in
    # rows made from the proofs the round found
    tokenizer = training.tokenizer_of(str(build_tiny_model(tmp_path / "model")))
    rows = training.round_rows(config, inputs, RunLayout(out), 1, tokenizer)
    assert any(row.kind == "prover-human" for row in rows)
    found_steps = {(s, t.strip()) for n in found for s, t in proofs[n]["steps"]}
    for row in rows:
        hits = {(s, t) for s, t in human if s in row.prompt}
        if row.kind == "prover-proof-step":
            assert all((s, row.completion.strip()) in found_steps for s, _ in hits), row
        else:
            assert not hits or row.kind == "prover-whole-proof", row
    # the manifest and the plan name the pool's split
    manifest = json.loads((out / "round-1" / "manifest.json").read_text())
    assert manifest["inputs"]["pool_library_split"] == "random/val"
    from proofsmith.iterate.plan import plan_lines

    assert any("library theorems of random/val" in line and "human proofs hidden" in line
               for line in plan_lines(config, out))


@pytest.mark.coq
def test_a_round_killed_mid_stage_resumes_with_nothing_redone_or_lost(traced_library, tmp_path):  # noqa: F811
    """SIGKILL in the middle of proving the round's conjectures (some results written, the stage unmarked); the
    same command then finishes the run: the finished results keep their lines, nothing is proved twice, the
    stages marked before the kill are not redone."""
    import os
    import signal
    import time

    _, trace = traced_library
    config = tmp_path / "iterate.toml"
    config.write_text(ARM_C.format(trace=trace).replace("budget_s = 4\n", "budget_s = 8\n", 1))
    out = tmp_path / "run"
    command = [sys.executable, "-m", "proofsmith.cli", "iterate", "--config", str(config), "--out", str(out),
               "--no-progress"]
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    results, state = out / "round-1" / "conjecture_results.jsonl", out / "round-1" / "state.json"
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and first.poll() is None and not _lines(results):
            time.sleep(0.05)
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    before_state = json.loads(state.read_text())
    before = _lines(results)
    assert before and "prove_conjectures" not in before_state  # killed mid-stage
    new = [c["name"] for c in _lines(out / "round-1" / "conjectures.jsonl") if c["status"] == "new"]
    assert len(before) < len(new)
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    after = _lines(results)
    assert sorted(r["name"] for r in after) == sorted(new)  # every new conjecture once
    assert after[:len(before)] == before  # the finished ones untouched, not proved again
    after_state = json.loads(state.read_text())
    for stage, mark in before_state.items():
        assert after_state[stage] == mark, stage  # marked stages were not redone
    assert [m["round"] for m in _lines(out / "metrics.jsonl")] == [0, 1]


@pytest.mark.coq
def test_a_statement_only_pool_is_proved_and_seeds_conjectures(traced_library, tmp_path):  # noqa: F811
    """A user's own statements (JSON Lines in the miniF2F-Coq format, no human proof) as the pool: proved by
    the round, seeds for the symbolic conjecturer; with the bundled miniF2F valid in the pool, held-out is test."""
    from proofsmith.iterate.config import validate
    from proofsmith.iterate.run import IterationRun

    _, trace = traced_library
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps({"name": name, "split": "valid", "header": "", "statement": f"Theorem {name} : {body}.",
                                        "source": "me/mine@0000000 mine.v"})
                            + "\n" for name, body in (("two", "1 + 1 = 2"), ("add_0", "forall n : nat, n + 0 = n"),
                                                       ("le_3", "3 <= 5"))))
    text = ARM_C.format(trace=trace).replace("library = 4\nlibrary_per_round = 4\n", "library = 0\nlibrary_per_round = 0\n")
    text = text.replace("mutants_per_round = 0\n", f"mutants_per_round = 0\nstatements = 3\nstatements_per_round = 3\n"
                                                    f"statements_data = \"{data}\"\n")
    text = text.replace("stdlib_val = 1\nminif2f_valid = 0\n", "stdlib_val = 0\nminif2f_valid = 1\n")
    config = validate(tomllib.loads(text))
    out = tmp_path / "run"
    metrics = IterationRun(config, out, progress=False).run()
    pool = _lines(out / "round-1" / "pool.jsonl")
    assert sorted(r["name"] for r in pool) == ["add_0", "le_3", "two"] and {r["split"] for r in pool} == {"statements"}
    assert metrics[1].dataset_attempted == 3 and metrics[1].cumulative_dataset_attempted == 3
    proved = {r["name"] for r in pool if r["verdict"] == "proved"}
    assert proved and metrics[1].cumulative_dataset_proved == len(proved)
    seeds = {c["seed"] for c in _lines(out / "round-1" / "conjectures.generated.jsonl")}
    assert seeds and seeds <= proved  # the proved statements seed the symbolic conjecturer
    assert set(metrics[1].heldout) == {"minif2f-valid"}  # a user's statements: miniF2F valid stays held out
    from proofsmith.iterate.heldout import heldout_sets

    bundled = validate({"pools": {"statements": 10, "statements_per_round": 5}, "training": {"enabled": False},
                        "prover": {"name": "memory-search"}})
    assert [s.label for s in heldout_sets(bundled, final=False)] == ["stdlib-val", "minif2f-test"]


# ------------------------------------------------------------------ a conjecturer behind an OpenAI-compatible server

SERVED_MODEL = "proofsmith/coq-tactics-1.5b"  # the name tests/recorded_openai_server.py lists under /v1/models
SERVED_CONJECTURE = "forall a b : nat, a + b + 0 = b + a"


def _served_answer(content: str) -> dict:
    """A chat completion as vLLM gives it (tests/fixtures/openai_server/vllm_chat.json), without logprobs."""
    return {"path": "/v1/chat/completions", "status": 200, "body": {
        "id": "chatcmpl-conjecture", "object": "chat.completion", "created": 1732924801, "model": SERVED_MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": None,
                     "finish_reason": "stop", "stop_reason": None}],
        "usage": {"prompt_tokens": 180, "total_tokens": 200, "completion_tokens": 20}}}


def _served_config_text(trace, url: str) -> str:
    served = (f'sources = ["model"]\ngenerator = "openai-server"\nmodel_url = "{url}"\nmodel = "{SERVED_MODEL}"\n'
              "max_tokens = 40\n")
    return ARM_C.format(trace=trace).replace('sources = ["symbolic"]\n', served, 1)


@pytest.mark.coq
def test_a_served_conjecturer_feeds_the_funnel_with_no_local_tokenizer(traced_library, tmp_path):  # noqa: F811
    """conjecturer.generator = "openai-server": the conjecture prompt goes to a real local HTTP server as chat turns
    (the conjecturer's instruction as the system turn), and the statement it answers, fenced as chat models write
    code, is parsed and elaborated by real Coq in its seed's environment like a local model's."""
    from proofsmith.data_synth.conjecture import CONJECTURE_INSTRUCTION, OPENING
    from proofsmith.iterate.config import validate
    from proofsmith.iterate.run import IterationRun
    from proofsmith.iterate.stages import StopAfter
    from tests.recorded_openai_server import RecordedOpenAIServer

    _, trace = traced_library
    answer = f"```coq\nTheorem conjecture : {SERVED_CONJECTURE}.\n```"
    with RecordedOpenAIServer(exchanges=[_served_answer(answer)]) as server:
        config = validate(tomllib.loads(_served_config_text(trace, server.url)))
        assert config.served_conjecturer
        out = tmp_path / "run"
        with pytest.raises(StopAfter):
            IterationRun(config, out, progress=False, stop_after="1:conjectures").run()
        bodies = server.bodies("/v1/chat/completions")
    conjectures = _lines(out / "round-1" / "conjectures.jsonl")
    assert conjectures and len(bodies) == len(conjectures)  # one call per input, one sample each
    for body in bodies:
        system, user = body["messages"]
        assert system == {"role": "system", "content": CONJECTURE_INSTRUCTION}
        assert user["role"] == "user" and user["content"].startswith("Lemma:") and user["content"].endswith(OPENING)
        assert "Theorem:\n" in user["content"] and "\nProof.\n" in user["content"]
        assert body["model"] == SERVED_MODEL and body["max_tokens"] == 40 and body["n"] == 1
    # every input got the same answer: parsed out of its fence, well-formed in Coq, new once and a duplicate after
    assert {c["source"] for c in conjectures} == {"model"} and {c["body"] for c in conjectures} == {SERVED_CONJECTURE}
    assert all(c["well_formed"] and c["key"] for c in conjectures), conjectures
    assert [c["status"] for c in conjectures] == ["new"] + ["duplicate"] * (len(conjectures) - 1)
    state = json.loads((out / "round-1" / "state.json").read_text())
    assert state["conjectures"]["new_by_source"] == {"model": 1}
    # an ill-formed answer is counted with Coq's reason, not dropped
    with RecordedOpenAIServer(exchanges=[_served_answer("forall a : nat, a + undefined_thing = a.")]) as server:
        config = validate(tomllib.loads(_served_config_text(trace, server.url)))
        out = tmp_path / "run-ill"
        with pytest.raises(StopAfter):
            IterationRun(config, out, progress=False, stop_after="1:conjectures").run()
    ill = _lines(out / "round-1" / "conjectures.jsonl")
    assert ill and all(c["status"] == "ill-formed" and c["reason"] and c["message"] for c in ill), ill


def test_dry_run_prints_the_served_conjecturer_and_refuses_an_unreachable_server(traced_library, tmp_path):  # noqa: F811
    from tests.recorded_openai_server import RecordedOpenAIServer

    _, trace = traced_library
    path = tmp_path / "iterate.toml"
    command = [sys.executable, "-m", "proofsmith.cli", "iterate", "--config", str(path), "--out",
               str(tmp_path / "run"), "--dry-run"]
    with RecordedOpenAIServer(exchanges=[_served_answer("True")]) as server:
        path.write_text(_served_config_text(trace, server.url))
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
        url = server.url
    assert done.returncode == 0, done.stderr
    assert f"conjecturers: model {SERVED_MODEL} served at {url} (chat endpoint, 1 per input, every round)" in done.stdout
    assert not server.bodies("/v1/chat/completions")  # the plan asks the server's /models, generates nothing
    # the same config once the server is gone: refused before round 0, naming the key and the address
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "conjecturer.model_url" in done.stderr and url in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()
