"""Tactic generation with a Hugging Face transformers model, on CPU or GPU.

Any local checkpoint works: causal LMs (the default SmolLM2) and
encoder-decoder models (ByT5 as in ReProver). Beam search returns the k most
likely tactics with their summed log-probabilities (no length normalisation,
so scores add up along a search path); sampling returns k draws with the
log-probability of each draw under the unwarped model.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from proofsmith.prover.generators.base import Completion, DecodeRequest, DecodingSettings, LanguageModelGenerator
from proofsmith.prover.generators.stop_tokens import end_of_sequence_ids, newline_token_ids
from proofsmith.prover.model_store import resolve_model
from proofsmith.prover.prompt import PromptFormat


def pick_device(device: str | None = None) -> str:
    import torch

    if device and device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


class TransformersGenerator(LanguageModelGenerator):
    name = "transformers"

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        device: str | None = None,
        threads: int | None = None,
        settings: DecodingSettings = DecodingSettings(),
    ):
        import torch
        from transformers import (
            AutoConfig,
            AutoModelForCausalLM,
            AutoModelForSeq2SeqLM,
            AutoTokenizer,
        )

        if threads is not None:
            # On a shared CPU, fewer intra-op threads than cores avoids spin-wait
            # oversubscription (measured here: 7x slower with 2 threads under load).
            torch.set_num_threads(threads)
        path = resolve_model(model)
        self.model_dir = Path(path)
        self.model = str(model) if model is not None else "default"
        self.device = pick_device(device)
        config = AutoConfig.from_pretrained(path)
        self.encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        model_cls = AutoModelForSeq2SeqLM if self.encoder_decoder else AutoModelForCausalLM
        # Any: transformers' annotations of from_pretrained(...).to(...) lose the model class
        self.lm: Any = model_cls.from_pretrained(path, dtype=dtype).to(self.device).eval()  # pyright: ignore[reportArgumentType]
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        # Causal models continue the prompt, so batches are padded on the left.
        self.tokenizer.padding_side = "right" if self.encoder_decoder else "left"
        self.prompt_format = PromptFormat(
            self.tokenizer, max_prompt_tokens=settings.max_prompt_tokens, use_chat_template=not self.encoder_decoder
        )
        self.settings = settings
        self._eos_ids = end_of_sequence_ids(self.tokenizer, self.lm.generation_config.eos_token_id)
        self._line_end_ids = newline_token_ids(self.tokenizer)

    def complete(self, request: DecodeRequest) -> list[list[Completion]]:
        out: list[list[Completion]] = []
        deadline = None if request.time_limit_s is None else time.perf_counter() + request.time_limit_s
        batch_size = self.settings.batch_size
        for start in range(0, len(request.prompts), batch_size):
            remaining = None if deadline is None else max(deadline - time.perf_counter(), 0.01)
            batch = replace(request, prompts=request.prompts[start : start + batch_size], time_limit_s=remaining)
            out.extend(self._complete_batch(batch))
        return out

    def _complete_batch(self, request: DecodeRequest) -> list[list[Completion]]:
        import torch

        k = request.k
        stop_ids = self._eos_ids + (self._line_end_ids if request.single_line else [])
        inputs = self.tokenizer(list(request.prompts), return_tensors="pt", padding=True, add_special_tokens=False)
        inputs = {name: tensor.to(self.device) for name, tensor in inputs.items()}
        common = {
            "max_new_tokens": request.max_new_tokens,
            "num_return_sequences": k,
            "eos_token_id": stop_ids,
            "pad_token_id": self.tokenizer.pad_token_id,
            "return_dict_in_generate": True,
            "output_scores": True,
            "max_time": request.time_limit_s,  # transformers stops decoding (not the prompt's prefill) after this
        }
        with torch.inference_mode():
            if request.decoding == "beam":
                generated = self.lm.generate(
                    **inputs, num_beams=k, do_sample=False, length_penalty=0.0, early_stopping=True, **common
                )
                # One beam is greedy search, which transformers scores per step only.
                logprobs = generated.sequences_scores.tolist() if k > 1 else None
            else:
                if request.seed is not None:
                    torch.manual_seed(request.seed)
                generated = self.lm.generate(
                    **inputs, do_sample=True, temperature=request.temperature, top_k=0, top_p=1.0, **common
                )
                logprobs = None
            if logprobs is None:
                steps = self.lm.compute_transition_scores(generated.sequences, generated.scores, normalize_logits=True)
                new_tokens = generated.sequences[:, -steps.shape[1] :]
                alive = _up_to_first_stop(new_tokens, stop_ids)
                logprobs = (steps.masked_fill(~alive, 0.0)).sum(dim=1).tolist()
        sequences = generated.sequences
        if not self.encoder_decoder:
            sequences = sequences[:, inputs["input_ids"].shape[1] :]
        texts = self.tokenizer.batch_decode(sequences, skip_special_tokens=True)
        return [
            [Completion(texts[i * k + j], float(logprobs[i * k + j])) for j in range(k)]
            for i in range(len(request.prompts))
        ]


def _up_to_first_stop(tokens, stop_ids: list[int]):
    """Mask of generated positions up to and including the first stop token."""
    import torch

    is_stop = torch.zeros_like(tokens, dtype=torch.bool)
    for stop in stop_ids:
        is_stop |= tokens == stop
    # Positions strictly after the first stop are padding.
    after = (torch.cumsum(is_stop.int(), dim=1) - is_stop.int()) > 0
    return ~after
