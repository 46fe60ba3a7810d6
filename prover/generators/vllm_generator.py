"""Tactic generation with vLLM on a GPU (the optional `vllm` extra).

Same prompts (PromptFormat over the model's own tokenizer) and the same output
as the transformers generator: beam search for the k most likely tactics with
their summed log-probabilities, or k samples with theirs. Prompts go in as
token ids, so the completion is exactly what follows the prompt.
"""

from __future__ import annotations

import os

from proofsmith.prover.generators.base import Completion, DecodeRequest, DecodingSettings, LanguageModelGenerator
from proofsmith.prover.model_store import resolve_model
from proofsmith.prover.prompt import PromptFormat


def vllm_available() -> bool:
    """Whether vLLM is installed and a CUDA device is visible."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


class VLLMGenerator(LanguageModelGenerator):
    name = "vllm"

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        settings: DecodingSettings = DecodingSettings(),
        gpu_memory_utilization: float = 0.5,
        seed: int = 0,
    ):
        """`settings.batch_size` is not used: vLLM schedules its own batches."""
        try:
            from vllm import LLM  # pyright: ignore[reportMissingImports]
        except ImportError as exc:
            raise RuntimeError("the vllm generator needs the vllm extra: pip install 'proofsmith[vllm]'") from exc
        path = resolve_model(model)
        self.model = str(model) if model is not None else "default"
        self.llm = LLM(
            model=str(path),
            seed=seed,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=settings.max_prompt_tokens + max(settings.max_tactic_tokens, settings.max_proof_tokens),
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.prompt_format = PromptFormat(self.tokenizer, max_prompt_tokens=settings.max_prompt_tokens)
        self.settings = settings

    def complete(self, request: DecodeRequest) -> list[list[Completion]]:
        """vLLM offers no per-call time limit (`request.time_limit_s` is not used); batches are fast on a GPU."""
        from vllm.inputs import TokensPrompt  # pyright: ignore[reportMissingImports]

        token_prompts = [
            TokensPrompt(prompt_token_ids=self.tokenizer(p, add_special_tokens=False)["input_ids"])
            for p in request.prompts
        ]
        if request.decoding == "beam":
            return self._beam(token_prompts, request)
        return self._sample(token_prompts, request)

    def _beam(self, prompts, request: DecodeRequest) -> list[list[Completion]]:
        from vllm.sampling_params import BeamSearchParams  # pyright: ignore[reportMissingImports]

        params = BeamSearchParams(
            beam_width=request.k, max_tokens=request.max_new_tokens, temperature=0.0, length_penalty=0.0
        )
        outputs = self.llm.beam_search(prompts, params)
        results = []
        for prompt, output in zip(prompts, outputs):
            n = len(prompt["prompt_token_ids"])
            # Beam sequences carry the prompt's tokens in front of the completion.
            results.append(
                [
                    Completion(
                        self._cut(self.tokenizer.decode(seq.tokens[n:], skip_special_tokens=True), request.single_line),
                        seq.cum_logprob,
                    )
                    for seq in output.sequences[: request.k]
                ]
            )
        return results

    def _sample(self, prompts, request: DecodeRequest) -> list[list[Completion]]:
        from vllm import SamplingParams  # pyright: ignore[reportMissingImports]

        params = SamplingParams(
            n=request.k,
            temperature=request.temperature,  # top-k / top-p stay off: draws from the model itself
            max_tokens=request.max_new_tokens,
            seed=request.seed,
            stop=["\n"] if request.single_line else None,
            logprobs=0,  # the sampled token's own log-probability, summed into cumulative_logprob
        )
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [[Completion(o.text, o.cumulative_logprob or 0.0) for o in out.outputs] for out in outputs]

    @staticmethod
    def _cut(text: str, single_line: bool) -> str:
        # vLLM's beam search has no stop strings: a tactic is cut at its line end here.
        return text.split("\n", 1)[0] if single_line else text
