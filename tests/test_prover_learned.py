"""Learned generators: prompt packing, the default model, SFT, and a trained model proving with real Coq.

The end-to-end tests train a tiny model (a 2-layer Llama with a byte-level BPE
vocabulary of a few hundred tokens fitted to the fixture) on the traced
fixture in a few seconds; it then finds real proofs that Coq accepts.
"""

import json
import math
import time
from dataclasses import replace
from pathlib import Path

import pytest

from proofsmith.checker.types import Theorem, Verdict
from proofsmith.prover.base import Budget
from proofsmith.prover.premises import RetrievedPremise

FIXTURE = Path(__file__).parent / "fixtures" / "prover_sft"


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Small models on a busy 2-core machine run several times faster on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------- a tiny model of our own


def build_tiny_model(out: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from proofsmith.prover.prompt import PROOF_INSTRUCTION, TACTIC_INSTRUCTION

    texts = [TACTIC_INSTRUCTION, PROOF_INSTRUCTION, "Premises: Goal: Tactic: Proof:"]
    for split in ("train", "val"):
        for thm in json.loads((FIXTURE / "random" / f"{split}.json").read_text()):
            texts += [t["state_before"] + "\n" + t["tactic"] for t in thm["traced_tactics"]]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        texts,
        trainers.BpeTrainer(vocab_size=512, special_tokens=["<unk>", "<pad>", "<eos>"],
                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from proofsmith.prover.sft import SFTConfig, train_generator

    base = build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")
    out = tmp_path_factory.mktemp("sft")
    config = SFTConfig(data=str(FIXTURE), out=str(out), model=str(base), max_steps=40, learning_rate=3e-3,
                       batch_size=8, save_steps=20)
    return config, train_generator(config)


def test_sft_lowers_the_validation_loss(trained):
    _, figures = trained
    assert figures["steps"] == 40 and figures["train_examples"] > 0 and figures["val_examples"] > 0
    assert figures["val_loss_after"] < 0.5 * figures["val_loss_before"]
    assert (Path(figures["model"]) / "config.json").is_file()


def test_sft_resumes_from_its_last_checkpoint(trained):
    from dataclasses import replace

    from proofsmith.prover.sft import train_generator

    config, _ = trained
    figures = train_generator(replace(config, max_steps=44))
    assert figures["resumed_from"] and figures["resumed_from"].endswith("checkpoint-40")
    assert figures["steps"] == 44


def test_sft_names_a_directory_without_traced_splits(tmp_path):
    from proofsmith.prover.sft import SFTConfig, TrainingDataError, train_generator

    with pytest.raises(TrainingDataError, match="random/train.json"):
        train_generator(SFTConfig(data=str(tmp_path), out=str(tmp_path / "out")))


@pytest.fixture(scope="module")
def generator(trained):
    from proofsmith.prover.generators.transformers_generator import TransformersGenerator

    return TransformersGenerator(trained[1]["model"], device="cpu")


def test_generator_output_shape(generator):
    goals = ["============================\nforall x y : nat, x + y = y + x",
             "x, y : nat\n============================\nx + y = y + x", "no goals"]
    for decoding in ("beam", "sample"):
        generator.settings = replace(generator.settings, decoding=decoding)
        out = generator.generate(goals, 4, seed=1)
        assert len(out) == len(goals)
        for cands in out:
            assert 1 <= len(cands) <= 4
            tactics = [t for t, _ in cands]
            assert len(set(tactics)) == len(tactics) and all(t and "\n" not in t for t in tactics)
            logprobs = [lp for _, lp in cands]
            assert all(lp <= 1e-5 and math.isfinite(lp) for lp in logprobs)
            assert logprobs == sorted(logprobs, reverse=True)
    generator.settings = replace(generator.settings, decoding="beam")
    # what the trained model learned from the fixture
    first = [t for t, _ in generator.generate(goals[:2], 3)[1]]
    assert "lia." in first


def test_sampled_logprobs_are_reproducible(generator):
    a = generator.sample_proofs("============================\nforall n : nat, n = n", 3, seed=7)
    b = generator.sample_proofs("============================\nforall n : nat, n = n", 3, seed=7)
    assert [c.text for c in a] == [c.text for c in b] and len(a) == 3
    assert all(c.logprob <= 0 for c in a)


@pytest.fixture(scope="module")
def checker():
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings

    with open_checker("coq", CheckerSettings(workers=1)) as c:
        yield c


@pytest.mark.coq
def test_trained_model_search_finds_proofs_coq_accepts(trained, checker):
    from proofsmith.prover.registry import make_prover

    # the model alone (no automation mixed in): what it learned must find these
    prover = make_prover("search", model=trained[1]["model"], device="cpu", automation_share=0.0)
    theorems = [
        Theorem("u1", "Theorem u1 : forall a b : nat, a + b + 1 = 1 + b + a."),
        Theorem("u2", "Theorem u2 : forall x : nat, x <= x * 1."),
    ]
    for theorem in theorems:
        result = prover.prove(theorem, checker, Budget(wall_s=60, tactics_per_expansion=4))
        assert result.verdict is Verdict.PROVED, result.reason
        assert checker.check(theorem, result.proof).proved
        assert result.timings["model"] > 0 and result.timings["checker"] > 0


@pytest.mark.coq
def test_trained_model_search_ends_failed_on_a_false_statement(trained, checker):
    from proofsmith.prover.registry import make_prover

    prover = make_prover("search", model=trained[1]["model"], device="cpu")  # mixed with automation
    assert prover.generator.name.startswith("mixture(")
    false = Theorem("u_false", "Theorem u_false : forall n : nat, n + 1 = n.")
    result = prover.prove(false, checker, Budget(wall_s=20, expansions=5, tactics_per_expansion=4))
    assert result.verdict in (Verdict.FAILED, Verdict.TIMEOUT) and result.proof is None


@pytest.mark.coq
def test_mixed_search_asks_the_model_only_where_automation_left_the_node_open(trained, checker):
    from proofsmith.prover.generators import make_generator
    from proofsmith.prover.generators.mixture import MixtureGenerator
    from proofsmith.prover.generators.model_free import ModelFreeGenerator
    from proofsmith.prover.search import BestFirstSearchProver

    model = make_generator("transformers", trained[1]["model"], device="cpu")
    calls = []
    real_complete = model.complete
    model.complete = lambda request: calls.append(len(request.prompts)) or real_complete(request)
    mixture = MixtureGenerator([(model, 0.5, 2), (ModelFreeGenerator(automation={"reflexivity.": 1.0}), 0.5, 4)])
    assert [stage.costly for stage in mixture.stages()] == [False, True]
    prover = BestFirstSearchProver(mixture)

    easy = Theorem("m_easy", "Theorem m_easy : 2 + 2 = 4.")
    result = prover.prove(easy, checker, Budget(wall_s=30, tactics_per_expansion=4))
    assert result.proved and result.proof == "reflexivity." and calls == []

    hard = Theorem("m_false", "Theorem m_false : forall n : nat, n + 1 = n.")
    result = prover.prove(hard, checker, Budget(wall_s=30, expansions=1, tactics_per_expansion=4))
    assert not result.proved and calls == [1]  # one model call, for the root automation could not close
    tactics = result.extra["tactics"]
    assert 1 <= tactics <= 1 + 2  # reflexivity, then the model's tactics not tried yet (at most 2)


@pytest.mark.coq
def test_whole_proof_sampling_checks_every_sample(trained, checker):
    from proofsmith.prover.registry import make_prover

    sampler = make_prover("sample", model=trained[1]["model"], device="cpu", temperature=1.0)
    theorem = Theorem("u3", "Theorem u3 : forall a b : nat, a * b = b * a.")
    result = sampler.prove(theorem, checker, Budget(wall_s=120, attempts=6, tactic_timeout_s=5))
    assert len(result.attempts) == 6 and result.extra["samples"] == 6
    assert result.successes == result.extra["successes"]
    if result.proved:
        assert checker.check(theorem, result.proof).proved
    else:
        assert result.verdict is Verdict.FAILED


# ---------------------------------------------------------------- prompts


def test_prompt_packs_premises_in_rank_order_under_the_token_budget(generator):
    from proofsmith.prover.prompt import PromptFormat

    fmt = PromptFormat(generator.tokenizer, max_prompt_tokens=160)
    premises = [RetrievedPremise(f"lemma_{i}", "forall n : nat, n + 0 = n", 1.0 - i / 100) for i in range(40)]
    goal = "n : nat\n============================\nn + 0 = n"
    prompt = fmt.tactic_prompt(goal, premises)
    assert fmt.count_tokens(prompt) <= 160
    assert goal in prompt and prompt.index("lemma_0") < prompt.index("lemma_1") < prompt.index("Goal:")
    assert "lemma_39" not in prompt  # did not fit
    long_goal = "x : nat\n============================\n" + " + ".join(["x"] * 400) + " = 0"
    cut = fmt.tactic_prompt(long_goal, premises)
    assert fmt.count_tokens(cut) <= 170 and "..." in cut


def test_parse_tactic_and_proof(generator):
    fmt = generator.prompt_format
    eos = generator.tokenizer.eos_token
    assert fmt.parse_tactic(f"  lia.\nauto.{eos}junk") == "lia."
    assert fmt.parse_proof(f"Proof.\nintros.\n\nlia.\nQed.{eos}") == "intros.\nlia."


# ---------------------------------------------------------------- the default model


def test_default_model_reloads_from_its_converted_checkpoint():
    from transformers import AutoModelForCausalLM

    from proofsmith.prover.model_store import default_model_dir, resolve_model

    path = default_model_dir()  # converts the GGUF once (about 40 s), then cached
    assert (path / "config.json").is_file() and list(path.glob("*.safetensors"))
    assert resolve_model(None) == path == resolve_model("default")
    start = time.perf_counter()
    AutoModelForCausalLM.from_pretrained(path)
    assert time.perf_counter() - start < 10  # about 0.3 s on an idle machine


def test_default_model_generates_well_formed_candidates():
    from proofsmith.prover.generators import make_generator

    gen = make_generator("transformers", None, device="cpu", max_prompt_tokens=256, max_tactic_tokens=12)
    out = gen.generate(["n : nat\n============================\nn + 0 = n"], 3,
                       [[RetrievedPremise("plus_n_O", "forall n : nat, n = n + 0", 0.9)]])
    assert len(out) == 1 and 1 <= len(out[0]) <= 3
    assert all(lp <= 1e-5 for _, lp in out[0]) and all("\n" not in t for t, _ in out[0])


def test_resolve_model_names_a_bad_path(tmp_path):
    from proofsmith.prover.model_store import ModelNotFound, resolve_model

    with pytest.raises(ModelNotFound, match="no such directory"):
        resolve_model(tmp_path / "missing")
    with pytest.raises(ModelNotFound, match="no config.json"):
        resolve_model(tmp_path)
