"""Tactic generators behind one interface (see prover.generators.base).

`make_generator` picks one by name; "auto" uses vLLM when it is installed and a
GPU is visible, transformers otherwise. Model backends are imported only when
asked for, so the model-free generator never loads torch.
"""

from __future__ import annotations

import threading
from typing import Any

from proofsmith.prover.generators.base import (
    Completion,
    DecodeRequest,
    LanguageModelGenerator,
    TacticCandidate,
    TacticGenerator,
    TacticRequest,
)

GENERATOR_KINDS = ("auto", "transformers", "vllm", "model-free")

# transformers resolves its names lazily and not thread-safely: two runner
# workers building a model generator at once can fail with "cannot import
# name AutoConfig". Model generators are therefore built one at a time.
_LOAD_LOCK = threading.Lock()


def make_generator(kind: str = "auto", model: str | None = None, **options: Any) -> TacticGenerator:
    if kind not in GENERATOR_KINDS:
        raise ValueError(f"unknown generator {kind!r}; choose one of {', '.join(GENERATOR_KINDS)}")
    if kind == "model-free":
        if model is not None:
            raise ValueError("the model-free generator takes no model")
        from proofsmith.prover.generators.model_free import ModelFreeGenerator

        return ModelFreeGenerator(**options)
    with _LOAD_LOCK:
        if kind == "auto":
            from proofsmith.prover.generators.vllm_generator import vllm_available

            kind = "vllm" if vllm_available() else "transformers"
        if kind == "vllm":
            from proofsmith.prover.generators.vllm_generator import VLLMGenerator

            options.pop("device", None)
            options.pop("batch_size", None)
            options.pop("threads", None)
            return VLLMGenerator(model, **options)
        from proofsmith.prover.generators.transformers_generator import TransformersGenerator

        return TransformersGenerator(model, **options)


__all__ = [
    "GENERATOR_KINDS",
    "Completion",
    "DecodeRequest",
    "LanguageModelGenerator",
    "TacticCandidate",
    "TacticGenerator",
    "TacticRequest",
    "make_generator",
]
