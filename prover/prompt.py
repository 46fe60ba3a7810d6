"""The text a language model reads and writes, shared by inference and training.

As in ReProver, retrieved premises are packed into the input ahead of the goal,
best first, as many as fit a token budget; the goal itself always goes in
(cut at the end if it alone exceeds its share). With proof retrieval (Rango),
the most similar whole proofs (`ProofExample`: a state and its tactics) go
in too, ahead of the premises.

The token budget is spent in this order: the goal first (at most
`goal_share` of the room, cut at the end beyond that); then similar proofs,
nearest first, in at most `proof_share` of what the goal left (a proof goes
in whole or not at all, its state cut to half that share at most); then
premises, best first, in everything left (proofs they did not use
included). Whatever does not fit is skipped and later, shorter items still
fill the room. The text reads proofs, premises, goal. The same `PromptFormat` builds
prompts for the transformers and vLLM generators, for whole-proof sampling and
for supervised fine-tuning, so a model is always queried exactly the way it
was trained.

Causal models with a chat template (the default SmolLM2-Instruct) get the
request as a user turn and answer as the assistant; models without one get a
plain prompt ending in a cue line. Encoder-decoder models get the plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from proofsmith.prover.premises import RetrievedPremise
from proofsmith.prover.proof_examples import ProofExample

TACTIC_INSTRUCTION = "You are a Coq prover. Reply with the next tactic for the first goal, nothing else."
PROOF_INSTRUCTION = "You are a Coq prover. Reply with a complete proof script (the tactics between Proof. and Qed.), nothing else."
TRUNCATION_MARK = " ..."
PROOFS_HEADING = "Similar proofs:\n"


@dataclass
class PromptFormat:
    tokenizer: Any
    max_prompt_tokens: int = 768
    # The goal (or statement) may use at most this share of the budget; the
    # rest is for premises, which are dropped first.
    goal_share: float = 0.75
    # Similar proofs may use at most this share of what the goal leaves; premises get the rest.
    proof_share: float = 0.6
    use_chat_template: bool = True

    def __post_init__(self) -> None:
        self.chat = bool(self.use_chat_template and getattr(self.tokenizer, "chat_template", None))

    # -- what the model reads -------------------------------------------------

    def tactic_prompt(
        self, goal: str, premises: Sequence[RetrievedPremise] = (), proofs: Sequence[ProofExample] = ()
    ) -> str:
        return self._render(TACTIC_INSTRUCTION, "Goal", goal, premises, "Tactic", proofs)

    def proof_prompt(
        self, goal: str, premises: Sequence[RetrievedPremise] = (), proofs: Sequence[ProofExample] = ()
    ) -> str:
        """The prompt for a whole proof of the theorem whose initial goals are `goal`.

        The initial goals, not the statement, so that training examples (the
        traced `state_before` of a proof's first tactic) and inference (the
        state `open` returns) read exactly the same text.
        """
        return self._render(PROOF_INSTRUCTION, "Goal", goal, premises, "Proof", proofs)

    # -- what the model writes ------------------------------------------------

    def target(self, completion: str) -> str:
        """The training target for a prompt: the completion and the end-of-sequence mark."""
        eos = getattr(self.tokenizer, "eos_token", None) or ""
        return completion.strip() + eos

    def parse_tactic(self, text: str) -> str:
        """A tactic from generated text: the first non-empty line, without chat residue."""
        for line in self._clean(text).splitlines():
            if line.strip():
                return line.strip()
        return ""

    def parse_proof(self, text: str) -> str:
        lines = [line.rstrip() for line in self._clean(text).splitlines()]
        body = "\n".join(line for line in lines if line.strip())
        # Models imitating whole files sometimes wrap the script themselves.
        if body.startswith("Proof."):
            body = body[len("Proof.") :].lstrip()
        for end in ("Qed.", "Defined."):
            if body.endswith(end):
                body = body[: -len(end)].rstrip()
        return body

    # -- internals ------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _clean(self, text: str) -> str:
        for special in (getattr(self.tokenizer, "eos_token", None), "<|im_end|>", "<|im_start|>"):
            if special:
                text = text.split(special)[0]
        return text.strip().strip("`").strip()

    def _wrap(self, instruction: str, body: str, cue: str) -> str:
        if self.chat:
            messages = [{"role": "system", "content": instruction}, {"role": "user", "content": body}]
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return f"{instruction}\n\n{body}\n\n{cue}:\n"

    def _render(
        self,
        instruction: str,
        label: str,
        main: str,
        premises: Sequence[RetrievedPremise],
        cue: str,
        proofs: Sequence[ProofExample] = (),
    ) -> str:
        overhead = self.count_tokens(self._wrap(instruction, f"{label}:\n", cue))
        room = max(self.max_prompt_tokens - overhead, 16)
        main = self._truncate(main, int(room * self.goal_share))
        room -= self.count_tokens(main) + 2
        examples: list[str] = []
        if proofs:
            # the block's heading and the blank lines around each example count too
            proof_room = int(room * self.proof_share) - self.count_tokens(PROOFS_HEADING) - 2
            for proof in proofs:
                text = self._proof_example(proof, proof_room // 2)
                cost = self.count_tokens(text) + 2
                if cost > proof_room:
                    continue
                examples.append(text)
                proof_room -= cost
            if examples:
                room -= self.count_tokens(PROOFS_HEADING + "\n".join(examples)) + 2 * len(examples) + 2
        packed: list[str] = []
        for premise in premises:
            line = f"{premise.name} : {premise.statement.strip()}"
            cost = self.count_tokens(line) + 1
            if cost > room:
                # ReProver keeps filling with later, shorter premises; so do we.
                continue
            packed.append(line)
            room -= cost
        body = f"{label}:\n{main}"
        if packed:
            body = "Premises:\n" + "\n".join(packed) + "\n\n" + body
        if examples:
            body = PROOFS_HEADING + "\n\n".join(examples) + "\n\n" + body
        return self._wrap(instruction, body, cue)

    def _proof_example(self, proof: ProofExample, max_state_tokens: int) -> str:
        state = self._truncate(proof.state.strip(), max(max_state_tokens, 1))
        return f"Goal:\n{state}\nProof:\n" + "\n".join(t.strip() for t in proof.tactics)

    def _truncate(self, text: str, max_tokens: int) -> str:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) <= max_tokens:
            return text
        keep = max(max_tokens - self.count_tokens(TRUNCATION_MARK), 1)
        return self.tokenizer.decode(ids[:keep]) + TRUNCATION_MARK
