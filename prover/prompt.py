"""The text a language model reads and writes, shared by inference and training.

As in ReProver, retrieved premises are packed into the input ahead of the goal,
best first, as many as fit a token budget; the goal itself always goes in
(cut at the end if it alone exceeds its share). The same `PromptFormat` builds
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

TACTIC_INSTRUCTION = "You are a Coq prover. Reply with the next tactic for the first goal, nothing else."
PROOF_INSTRUCTION = "You are a Coq prover. Reply with a complete proof script (the tactics between Proof. and Qed.), nothing else."
TRUNCATION_MARK = " ..."


@dataclass
class PromptFormat:
    tokenizer: Any
    max_prompt_tokens: int = 768
    # The goal (or statement) may use at most this share of the budget; the
    # rest is for premises, which are dropped first.
    goal_share: float = 0.75
    use_chat_template: bool = True

    def __post_init__(self) -> None:
        self.chat = bool(self.use_chat_template and getattr(self.tokenizer, "chat_template", None))

    # -- what the model reads -------------------------------------------------

    def tactic_prompt(self, goal: str, premises: Sequence[RetrievedPremise] = ()) -> str:
        return self._render(TACTIC_INSTRUCTION, "Goal", goal, premises, "Tactic")

    def proof_prompt(self, goal: str, premises: Sequence[RetrievedPremise] = ()) -> str:
        """The prompt for a whole proof of the theorem whose initial goals are `goal`.

        The initial goals, not the statement, so that training examples (the
        traced `state_before` of a proof's first tactic) and inference (the
        state `open` returns) read exactly the same text.
        """
        return self._render(PROOF_INSTRUCTION, "Goal", goal, premises, "Proof")

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
    ) -> str:
        overhead = self.count_tokens(self._wrap(instruction, f"{label}:\n", cue))
        room = max(self.max_prompt_tokens - overhead, 16)
        main = self._truncate(main, int(room * self.goal_share))
        room -= self.count_tokens(main) + 2
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
        return self._wrap(instruction, body, cue)

    def _truncate(self, text: str, max_tokens: int) -> str:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) <= max_tokens:
            return text
        keep = max(max_tokens - self.count_tokens(TRUNCATION_MARK), 1)
        return self.tokenizer.decode(ids[:keep]) + TRUNCATION_MARK
