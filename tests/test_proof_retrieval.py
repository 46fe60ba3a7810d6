"""Proof retrieval in prompts (Rango): similar traced proofs packed next to the premises.

The prompt is packed goal first, then proofs, then premises, under the token
budget; training (prover.sft) and inference (prover.generators.proof_retrieval
over any LanguageModelGenerator) build the very same prompt; training leaves
the theorem's own proof out. Real encoder and FAISS for the memory, a tiny
tokenizer trained here (tests/test_prover_learned.build_tiny_model).
"""

from __future__ import annotations

import json

import pytest

from proofsmith.prover.generators.base import Completion, DecodeRequest, LanguageModelGenerator
from proofsmith.prover.generators.proof_retrieval import ProofRetrievalGenerator
from proofsmith.prover.premises import RetrievedPremise
from proofsmith.prover.prompt import PromptFormat
from proofsmith.prover.proof_examples import ProofExample
from proofsmith.prover.sft import examples_from_split, normalize_tactic
from proofsmith.prover.tactic_memory import TacticMemory, memory_encoder

from .test_prover_learned import FIXTURE, build_tiny_model

GOAL = "n : nat\n============================\nn + 0 = n"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(build_tiny_model(tmp_path_factory.mktemp("tiny") / "model"))


@pytest.fixture(scope="module")
def memory(tmp_path_factory):
    return TacticMemory.from_trace(FIXTURE, "random", encoder=memory_encoder(),
                                   cache_dir=tmp_path_factory.mktemp("memory_cache"))


class RecordingGenerator(LanguageModelGenerator):
    """A language-model generator whose 'model' records the prompts it is given."""

    name = "recording"

    def __init__(self, prompt_format: PromptFormat):
        self.prompt_format = prompt_format
        self.prompts: list[str] = []

    def complete(self, request: DecodeRequest) -> list[list[Completion]]:
        self.prompts.extend(request.prompts)
        return [[Completion("auto.", -0.5)] for _ in request.prompts]


def test_prompt_packs_goal_then_proofs_then_premises_under_the_budget(tokenizer):
    fmt = PromptFormat(tokenizer, max_prompt_tokens=400, use_chat_template=False)
    proofs = [ProofExample(f"Lib.thm_{i}", f"m : nat\n============================\nm * 1 = m + {i}",
                           ("intros.", f"rewrite mul_{i}.", "reflexivity.")) for i in range(30)]
    premises = [RetrievedPremise(f"lemma_{i}", "forall n : nat, n + 0 = n", 1.0 - i / 100) for i in range(40)]
    prompt = fmt.tactic_prompt(GOAL, premises, proofs)
    assert fmt.count_tokens(prompt) <= 400
    assert prompt.index("Similar proofs:") < prompt.index("Premises:") < prompt.rindex("Goal:\n" + GOAL)
    assert prompt.index("rewrite mul_0.") < prompt.index("rewrite mul_1.")  # nearest first
    assert "mul_29" not in prompt and "lemma_39" not in prompt  # did not fit
    assert "lemma_0" in prompt  # premises keep their share
    # proofs use at most proof_share of what the goal leaves
    block = prompt[prompt.index("Similar proofs:"):prompt.index("Premises:")]
    assert fmt.count_tokens(block) <= 0.6 * 400
    # a proof goes in whole or not at all
    assert prompt.count("Proof:\nintros.") == prompt.count("reflexivity.")
    # no proofs: the prompt of before
    assert fmt.tactic_prompt(GOAL, premises, ()) == fmt.tactic_prompt(GOAL, premises)
    assert "Similar proofs" not in fmt.tactic_prompt(GOAL, premises)
    # the goal still comes first: a long goal leaves room for little else, and is cut at its share
    long_goal = "x : nat\n============================\n" + " + ".join(["x"] * 600) + " = 0"
    cut = fmt.tactic_prompt(long_goal, premises, proofs)
    assert fmt.count_tokens(cut) <= 410 and "..." in cut


def test_training_and_inference_prompts_are_the_same_and_training_leaves_its_own_proof_out(tokenizer, memory):
    fmt = PromptFormat(tokenizer, max_prompt_tokens=512, use_chat_template=False)
    recorder = RecordingGenerator(fmt)
    inference = ProofRetrievalGenerator(recorder, memory, proofs_k=2)
    # a held-out theorem (val): not in the memory, so nothing to leave out
    val = json.loads((FIXTURE / "random" / "val.json").read_text())
    examples = examples_from_split(FIXTURE / "random" / "val.json", fmt, proofs=memory, proofs_k=2, whole_proofs=False)
    states = [t["state_before"] for thm in val for t in thm["traced_tactics"] if normalize_tactic(t["tactic"])]
    assert len(examples) == len(states) > 0
    inference.generate(states, k=1)
    assert recorder.prompts == [e.prompt for e in examples]
    assert all("Similar proofs:" in p for p in recorder.prompts)
    # a train theorem: its own proof is in the memory, yet never in its training prompts
    train = json.loads((FIXTURE / "random" / "train.json").read_text())
    thm = train[0]
    own = memory.proof(thm["full_name"])
    assert own is not None
    first = thm["traced_tactics"][0]["state_before"]
    assert memory.similar_proofs(first, 1)[0].theorem == thm["full_name"]  # it would be the nearest
    train_examples = examples_from_split(FIXTURE / "random" / "train.json", fmt, proofs=memory, proofs_k=2,
                                         files=None, whole_proofs=True)
    expected = fmt.tactic_prompt(first, (), memory.similar_proofs(first, 2, exclude={thm["full_name"]}))
    prompts = [e.prompt for e in train_examples]
    assert expected in prompts
    assert fmt.tactic_prompt(first, (), memory.similar_proofs(first, 2)) not in prompts
    # its own example (its first state followed by its proof) is in none of its prompts
    own_example = "Goal:\n" + first + "\nProof:\n" + "\n".join(own.tactics)
    assert own_example in fmt.tactic_prompt(first, (), [own])
    own_states = {t["state_before"] for t in thm["traced_tactics"]}
    own_prompts = [p for p in prompts if any(p.endswith(f"Goal:\n{state}\n\n{cue}:\n")
                                             for state in own_states for cue in ("Tactic", "Proof"))]
    assert len(own_prompts) == len(thm["traced_tactics"]) + 1  # each step, and the whole proof
    assert not any(own_example in p for p in own_prompts)
    assert any(own_example in p for p in prompts if p not in own_prompts)  # other theorems may see it


def test_whole_proof_prompts_carry_proofs_too(tokenizer, memory):
    fmt = PromptFormat(tokenizer, max_prompt_tokens=512, use_chat_template=False)
    recorder = RecordingGenerator(fmt)
    proofs = memory.similar_proofs(GOAL, 2)
    recorder.sample_proofs(GOAL, 1, proofs=proofs)
    assert recorder.prompts == [fmt.proof_prompt(GOAL, (), proofs)]
    assert "Similar proofs:" in recorder.prompts[0]


def test_search_option_proof_retrieval_needs_a_memory(tmp_path, memory):
    from proofsmith.prover.registry import ProverOptionError, make_prover

    with pytest.raises(ProverOptionError, match="proof_retrieval=true .* give memory=TRACE_DIR"):
        make_prover("search", proof_retrieval=True)
    with pytest.raises(ProverOptionError, match="proof_retrieval must be true or false"):
        make_prover("search", proof_retrieval="perhaps", memory=str(tmp_path))


def test_memory_share_zero_shows_similar_proofs_without_memory_tactics_and_still_learns(tmp_path, memory):
    """The fine-tuned-model row of the provers table: the memory feeds the prompt only."""
    from proofsmith.prover.generators.tactic_memory import TacticMemoryGenerator
    from proofsmith.prover.registry import ProverOptionError, make_prover

    model = build_tiny_model(tmp_path / "model")
    memory.save(tmp_path / "saved")
    prover = make_prover("search", model=str(model), generator="transformers", memory=str(tmp_path / "saved"),
                         proof_retrieval=True, memory_share=0, automation_share=0)
    assert isinstance(prover.generator, ProofRetrievalGenerator)
    assert not any(isinstance(stage, TacticMemoryGenerator) for stage in prover.generator.stages())
    learner = prover.generator.learner
    before = len(learner.memory)
    prover.generator.learn("NewLemma", [(GOAL, "rewrite <- plus_n_O.")])
    assert len(learner.memory) == before + 1
    # with a share the memory proposes tactics, and is told of proofs as one of the mixture's parts
    mixed = make_prover("search", model=str(model), generator="transformers", memory=str(tmp_path / "saved"),
                        proof_retrieval=True, memory_share=0.3)
    assert mixed.generator.name.startswith("mixture(tactic-memory:0.30")
    with pytest.raises(ProverOptionError, match="memory_share=0 leaves the tactic memory nothing to do"):
        make_prover("search", model=str(model), generator="transformers", memory=str(tmp_path / "saved"), memory_share=0)
    with pytest.raises(ProverOptionError, match="memory_share must be in \\[0, 1\\)"):
        make_prover("search", model=str(model), generator="transformers", memory=str(tmp_path / "saved"),
                    proof_retrieval=True, memory_share=-0.1)
