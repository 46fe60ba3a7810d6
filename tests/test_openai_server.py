"""The OpenAI-compatible server generator against a real local HTTP server replaying recorded
answers of vLLM, llama.cpp and Ollama (tests/fixtures/openai_server), and end to end with real Coq."""

import json
import math
import os
import socket
import subprocess
import sys
import time

import pytest

from proofsmith.checker.types import Theorem
from proofsmith.prover.base import Budget
from proofsmith.prover.generators.openai_server import (
    OpenAIServerGenerator,
    ServedModelError,
    ServedPromptFormat,
    choice_logprob,
    rank_logprobs,
)
from proofsmith.prover.registry import ProverOptionError, make_prover
from tests.recorded_openai_server import RecordedOpenAIServer, load_exchanges

MODEL = "proofsmith/coq-tactics-1.5b"
GOAL = "============================\nexists n : nat, n * n = 49"
SQ49 = Theorem("sq49", "Theorem sq49 : exists n : nat, n * n = 49.")
EXISTS_7 = "exists 7; reflexivity."


def generator(server, **options):
    options.setdefault("backoff_s", 0.01)
    return OpenAIServerGenerator(MODEL, server.url, **options)


def test_vllm_completions_give_n_samples_with_their_summed_logprobs():
    with RecordedOpenAIServer("vllm_completions.json") as server:
        gen = generator(server, endpoint="completions")
        candidates = gen.generate([GOAL], k=4, seed=3)[0]
        (path, body), = server.requests
    assert path == "/v1/completions"
    assert body["n"] == 4 and body["logprobs"] == 1 and body["stop"] == ["\n"] and body["seed"] == 3
    assert body["model"] == MODEL and body["max_tokens"] == gen.settings.max_tactic_tokens
    assert body["prompt"].startswith("You are a Coq prover.") and "n * n = 49" in body["prompt"]
    # four samples, three distinct tactics, best first, scores = summed token log-probabilities
    assert [c.tactic for c in candidates] == [EXISTS_7, "auto.", "intros."]
    assert candidates[0].logprob == pytest.approx(-0.1053 - 0.2231 - 0.0101 - 0.0513 - 0.0202 - 0.0100)
    assert candidates[1].logprob == pytest.approx(-1.6094 - 0.0513)
    assert gen.served_logprob_choices == 4 and gen.rank_logprob_choices == 0
    assert gen.ledger.used == 77  # usage.total_tokens


def test_vllm_chat_reads_logprobs_content_and_sends_system_and_user_turns():
    with RecordedOpenAIServer("vllm_chat.json") as server:
        gen = generator(server)
        candidates = gen.generate([GOAL], k=2)[0]
        (path, body), = server.requests
    assert path == "/v1/chat/completions" and body["logprobs"] is True and "stop" not in body
    system, user = body["messages"]
    assert system["role"] == "system" and system["content"].startswith("You are a Coq prover.")
    assert user["role"] == "user" and user["content"].startswith("Goal:") and "n * n = 49" in user["content"]
    assert [c.tactic for c in candidates] == [EXISTS_7, "eexists. reflexivity."]
    assert candidates[0].logprob == pytest.approx(-0.0513 - 0.1054 - 0.0101 - 0.0305 - 0.0027)


def test_llamacpp_refusing_n_is_asked_once_per_sample_and_its_completions_logprobs_are_read():
    with RecordedOpenAIServer("llamacpp_chat.json") as server:
        gen = generator(server)
        candidates = gen.generate([GOAL], k=3, seed=10)[0]
        bodies = server.bodies("/v1/chat/completions")
    # n=3 refused with HTTP 500 "Only one completion choice is allowed": not retried, asked 3 times with n=1
    assert [b["n"] for b in bodies] == [3, 1, 1, 1]
    assert sorted(b["seed"] for b in bodies[1:]) == [10, 11, 12]
    assert gen.one_sample_per_call and gen.retries == 0
    assert [c.tactic for c in candidates] == [EXISTS_7, "auto."]
    assert candidates[0].logprob == pytest.approx(-0.2231 - 0.0101 - 0.1054 - 0.0202 - 0.0408 - 0.0010)
    with RecordedOpenAIServer("llamacpp_completions.json") as server:
        gen = generator(server, endpoint="completions")
        (candidate,) = gen.generate([GOAL], k=1)[0]
    assert candidate.tactic == EXISTS_7
    assert candidate.logprob == pytest.approx(-0.2231 - 0.1054 - 0.0202 - 0.0408 - 0.0010)


def test_ollama_without_n_or_logprobs_gets_rank_based_proper_logprobs():
    with RecordedOpenAIServer("ollama_chat.json") as server:
        gen = generator(server)
        candidates = gen.generate([GOAL], k=4, seed=0)[0]
        bodies = server.bodies("/v1/chat/completions")
    # one choice for n=4: the three missing samples are asked for one by one
    assert [b["n"] for b in bodies] == [4, 1, 1, 1] and gen.one_sample_per_call
    # sampled: exists (twice), auto (fenced, as chat models write code), intros: ranked by frequency
    # (auto and intros, once each, in the order of their calls; the server answers in arrival order)
    assert candidates[0].tactic == EXISTS_7 and {c.tactic for c in candidates[1:]} == {"auto.", "intros."}
    harmonic = 1 + 1 / 2 + 1 / 3
    assert [math.exp(c.logprob) for c in candidates] == pytest.approx([1 / harmonic, 0.5 / harmonic, (1 / 3) / harmonic])
    assert sum(math.exp(c.logprob) for c in candidates) == pytest.approx(1.0)
    assert gen.rank_logprob_choices == 4 and gen.served_logprob_choices == 0


def test_rank_logprobs_break_ties_by_first_appearance_and_need_no_server():
    scores = rank_logprobs(["b", "a", "a", "c", "b ", "d"])
    probs = dict(zip(["b", "a", "c", "d"], [math.exp(scores[i]) for i in (0, 1, 3, 5)]))
    assert probs["b"] > probs["a"] > probs["c"] > probs["d"]  # b and a twice (b first), then c, d
    assert sum(probs.values()) == pytest.approx(1.0)
    assert choice_logprob({"text": "x", "logprobs": None}) is None
    assert choice_logprob({"message": {"content": "x"}}) is None


def test_429_and_503_are_retried_with_backoff_honouring_retry_after():
    with RecordedOpenAIServer("rate_limited_then_ok.json") as server:
        gen = generator(server, endpoint="completions", backoff_s=0.2)
        start = time.perf_counter()
        candidates = gen.generate([GOAL], k=1)[0]
        elapsed = time.perf_counter() - start
    assert [c.tactic for c in candidates] == [EXISTS_7]
    assert gen.retries == 2 and len(server.requests) == 3
    # Retry-After 0.05 s for the 429, then the backoff's 2nd step (0.2 * 2) for the 503
    assert 0.45 <= elapsed < 5


def test_a_call_past_its_timeout_is_retried():
    slow, ok = load_exchanges("vllm_completions.json")[0], load_exchanges("vllm_completions.json")[0]
    with RecordedOpenAIServer(exchanges=[{**slow, "delay_s": 2.0}, ok]) as server:
        gen = generator(server, endpoint="completions", request_timeout_s=0.5)
        candidates = gen.generate([GOAL], k=4)[0]
    assert gen.retries == 1 and candidates[0].tactic == EXISTS_7


def test_errors_that_persist_raise_naming_the_url():
    busy = {"path": "/v1/completions", "status": 503,
            "body": {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}}
    with RecordedOpenAIServer(exchanges=[busy]) as server:
        gen = generator(server, endpoint="completions", max_retries=2)
        with pytest.raises(ServedModelError, match=r"/v1/completions: HTTP 503: Loading model \(after 3 tries\)") as err:
            gen.generate([GOAL], k=1)
    assert server.url in str(err.value) and gen.retries == 2
    refused = {"path": "/v1/chat/completions", "status": 404,
               "body": {"object": "error", "message": "The model `nope` does not exist.", "type": "NotFoundError",
                        "param": None, "code": 404}}
    with RecordedOpenAIServer(exchanges=[refused]) as server:
        gen = generator(server)
        with pytest.raises(ServedModelError, match=r"refused the request \(HTTP 404\): The model `nope` does not exist"):
            gen.generate([GOAL], k=1)
        assert len(server.requests) == 1  # a 404 is not retried


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_bad_url_is_a_clear_error_naming_it():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ServedModelError, match=f"could not reach the model server at {url}"):
        OpenAIServerGenerator(MODEL, url)
    with pytest.raises(ValueError, match="model URL 'localhost:8000'"):
        OpenAIServerGenerator(MODEL, "localhost:8000")
    with pytest.raises(ProverOptionError, match=f"could not reach the model server at {url}"):
        make_prover("search", model=MODEL, model_url=url)
    with pytest.raises(ProverOptionError, match="name the served model with --model NAME"):
        make_prover("search", model_url=url)


def test_the_token_budget_stops_calls_once_usage_reaches_the_cap():
    with RecordedOpenAIServer("vllm_completions.json") as server:
        # a cap of its own (ledgers are shared per URL, model and cap)
        gen = generator(server, endpoint="completions", max_total_tokens=100)
        assert gen.generate([GOAL], k=4)[0]  # 77 tokens
        assert gen.generate([GOAL], k=4)[0]  # 154: over the cap now
        assert gen.generate([GOAL], k=4) == [[]] and gen.token_budget_spent
        assert len(server.requests) == 2
    assert gen.usage()["tokens_used"] == 154


def test_prompts_are_budgeted_by_characters_without_a_tokenizer():
    fmt = ServedPromptFormat(max_prompt_tokens=256)
    prompt = fmt.tactic_prompt("x" * 10_000)
    assert fmt.count_tokens(prompt) <= 256 + 8 and prompt.rstrip().endswith("Tactic:")
    assert fmt.parse_proof("```coq\nexists 7.\nreflexivity.\n```\nDone.") == "exists 7.\nreflexivity."


@pytest.fixture(scope="module")
def checker():
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings

    with open_checker("coq", CheckerSettings(workers=1)) as c:
        yield c


@pytest.mark.coq
def test_whole_proof_sampling_from_a_served_model_proves_with_real_coq(checker):
    with RecordedOpenAIServer("vllm_chat_proofs.json") as server:
        prover = make_prover("sample", model=MODEL, model_url=server.url)
        result = prover.prove(SQ49, checker, Budget(wall_s=60, attempts=2))
        (path, body), = server.requests
    assert body["n"] == 2 and "stop" not in body and body["max_tokens"] == 1024
    assert body["messages"][0]["content"].startswith("You are a Coq prover. Reply with a complete proof")
    assert result.proved and result.proof == "exists 7.\nreflexivity."
    assert result.successes == 1  # the other sample, exists 8, is wrong


@pytest.mark.coq
def test_prove_cli_with_model_url_proves_with_the_served_answer():
    with RecordedOpenAIServer("vllm_chat.json") as server:
        env = {**os.environ, "PROOFSMITH_TEST_KEY": "sk-test"}
        run = subprocess.run(
            [sys.executable, "-m", "proofsmith.cli", "prove", SQ49.statement, "--model-url", server.url,
             "--model", MODEL, "--api-key-env", "PROOFSMITH_TEST_KEY", "--budget-s", "60", "--json"],
            capture_output=True, text=True, env=env, timeout=180,
        )
        asked = server.bodies("/v1/chat/completions")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["verdict"] == "proved" and result["proof"] == EXISTS_7
    assert result["prover"]["model"] == MODEL and asked  # the model-free part alone does not prove it


def test_prove_cli_refuses_a_model_url_without_a_model_name():
    run = subprocess.run(
        [sys.executable, "-m", "proofsmith.cli", "prove", SQ49.statement, "--model-url", "http://127.0.0.1:9/v1"],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 2 and "--model-url http://127.0.0.1:9/v1: name the served model with --model NAME" in run.stderr


def test_eval_cli_passes_the_url_and_the_key_variable_name_as_prover_options():
    import argparse

    from proofsmith.cli.eval import _prover_options

    args = argparse.Namespace(model=MODEL, model_url="http://localhost:8000/v1", api_key_env="MY_KEY", prover_option=[])
    assert dict(_prover_options(args)) == {"model": MODEL, "model_url": "http://localhost:8000/v1", "api_key_env": "MY_KEY"}
