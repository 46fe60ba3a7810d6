"""Tactic generators behind one interface (see prover.generators.base).

`make_generator` picks one by name; "auto" uses vLLM when it is installed and a
GPU is visible; on CPU it uses CTranslate2 (int8, several times faster than
transformers: bench/generation_speed.py) when ctranslate2 is installed and the
model converts, transformers otherwise (a GPU without vLLM, an encoder-decoder
model, a checkpoint the converter refuses). "seeded" is "auto" without
CTranslate2 (whose sampling ignores seeds; the `sample` prover's default).
"ct2" names "ctranslate2". "openai-server" asks a model behind an
OpenAI-compatible HTTP server (vLLM, SGLang, llama.cpp, Ollama, hosted APIs;
prover.generators.openai_server), `model` being the name it serves. Model
backends are imported only when asked for, so the model-free generator never
loads torch.
"""

from __future__ import annotations

import threading
from typing import Any

from proofsmith.prover.generators.base import (
    Completion,
    DecodeRequest,
    DecodingSettings,
    LanguageModelGenerator,
    TacticCandidate,
    TacticGenerator,
    TacticRequest,
)

GENERATOR_KINDS = ("auto", "seeded", "transformers", "ctranslate2", "ct2", "vllm", "openai-server", "model-free")

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
    if kind == "openai-server":
        # A model behind an HTTP server: nothing to load here, `model` is the name the server serves.
        from proofsmith.prover.generators.openai_server import OpenAIServerGenerator

        for local_only in ("device", "batch_size", "threads"):
            options.pop(local_only, None)
        base_url = options.pop("model_url", None)
        if base_url is None:
            raise ValueError("the openai-server generator needs model_url, the server's address")
        if model is None:
            raise ValueError("the openai-server generator needs model, the name the server serves it under")
        return OpenAIServerGenerator(model, base_url, **options)
    # A local model: how it decodes is one settings object; device and threads are the backend's own.
    settings = DecodingSettings.take(options)
    options["settings"] = settings
    with _LOAD_LOCK:
        if kind == "seeded":
            # "auto" without CTranslate2 (whose sampling ignores seeds): for seeded sampling.
            from proofsmith.prover.generators.vllm_generator import vllm_available

            kind = "vllm" if vllm_available() else "transformers"
        if kind == "auto":
            from proofsmith.prover.generators.vllm_generator import vllm_available

            kind = "vllm" if vllm_available() else "transformers"
            if kind == "transformers" and _on_cpu(options.get("device")):
                generator = _ctranslate2_or_none(model, options)
                if generator is not None:
                    return generator
        if kind in ("ctranslate2", "ct2"):
            from proofsmith.prover.generators.ctranslate2_generator import CTranslate2Generator

            return CTranslate2Generator(model, **options)
        if kind == "vllm":
            from proofsmith.prover.generators.vllm_generator import VLLMGenerator

            options.pop("device", None)
            options.pop("threads", None)
            return VLLMGenerator(model, **options)
        from proofsmith.prover.generators.transformers_generator import TransformersGenerator

        return TransformersGenerator(model, **options)


def _on_cpu(device: str | None) -> bool:
    if device and device != "auto":
        return device == "cpu"
    import torch

    return not torch.cuda.is_available()


def _ctranslate2_or_none(model: str | None, options: dict[str, Any]):
    """The CTranslate2 generator when ctranslate2 is installed and the model converts; None otherwise."""
    import logging

    from proofsmith.prover.generators.ctranslate2_generator import (
        ConversionError,
        CTranslate2Generator,
        ctranslate2_available,
    )

    if not ctranslate2_available():
        return None
    try:
        return CTranslate2Generator(model, **options)
    except ConversionError as exc:
        logging.getLogger(__name__).warning("generator: transformers, as %s", exc)
        return None


__all__ = [
    "GENERATOR_KINDS",
    "Completion",
    "DecodeRequest",
    "DecodingSettings",
    "LanguageModelGenerator",
    "TacticCandidate",
    "TacticGenerator",
    "TacticRequest",
    "make_generator",
]
