"""Fast CPU tactic generation with CTranslate2 (int8), as Lean Copilot does.

The model is the same checkpoint the transformers generator loads (the model
store's directory: the default SmolLM2 rebuilt from its GGUF, a fine-tuned
run, ...), converted once with CTranslate2's transformers converter and cached
under proofsmith's cache folder next to the model store's own checkpoints
(`models/<name>-<fingerprint>-ct2-int8`). Prompts come from the same
`PromptFormat` over the model's own tokenizer and the output is parsed the
same way, so the two generators differ only in arithmetic: int8 weights here,
float32 there.

Beam search returns the k most likely completions with their summed
log-probabilities (length_penalty 0, as the transformers generator);
sampling repeats each prompt k times and draws from the full distribution
(top-k off), each draw with its summed log-probability.

Seeds: CTranslate2 draws from a per-worker random generator that
`set_random_seed` does not reset between calls, so repeated sampling with the
same seed gives different draws; whole-proof sampling (the `sample` prover)
therefore keeps transformers unless this generator is named.

Time limits: CTranslate2 cannot stop a beam search part-way, so beam decoding
ignores `time_limit_s`; sampling stops a prompt's draws once it passes.
Causal models only: an encoder-decoder (ByT5) stays with transformers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from proofsmith.prover.generators.base import Completion, DecodeRequest, DecodingSettings, LanguageModelGenerator
from proofsmith.prover.generators.stop_tokens import end_of_sequence_ids, newline_token_ids
from proofsmith.prover.model_store import cache_dir, resolve_model
from proofsmith.prover.prompt import PromptFormat

DEFAULT_QUANTIZATION = "int8"


class ConversionError(RuntimeError):
    """A checkpoint CTranslate2 cannot convert (or ctranslate2 is not installed)."""


def ctranslate2_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ctranslate2") is not None


def _fingerprint(model_dir: Path) -> str:
    """What identifies a checkpoint: its absolute path and its files' sizes and times."""
    h = hashlib.sha256(str(model_dir.resolve()).encode())
    for f in sorted(model_dir.iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:12]


def converted_dir(model_dir: Path, quantization: str = DEFAULT_QUANTIZATION) -> Path:
    return cache_dir() / "models" / f"{model_dir.name}-{_fingerprint(model_dir)}-ct2-{quantization}"


def convert_model(model_dir: Path, quantization: str = DEFAULT_QUANTIZATION) -> Path:
    """The CTranslate2 conversion of a transformers checkpoint directory, converting on first use."""
    out = converted_dir(model_dir, quantization)
    if (out / "model.bin").is_file():
        return out
    if not ctranslate2_available():
        raise ConversionError("the ctranslate2 generator needs the ml extra: pip install ctranslate2")
    from ctranslate2.converters import TransformersConverter

    out.parent.mkdir(parents=True, exist_ok=True)
    # Convert into a sibling temp dir and rename, so a killed conversion never
    # leaves a half-written model that later loads would trust.
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        try:
            TransformersConverter(str(model_dir), low_cpu_mem_usage=True).convert(
                str(tmp / "model"), quantization=quantization, force=True
            )
        except Exception as exc:  # the converter raises bare ValueErrors/NotImplementedErrors
            raise ConversionError(f"CTranslate2 cannot convert {model_dir}: {exc}") from exc
        _fill_null_tokens(tmp / "model" / "config.json")
        if (out / "model.bin").is_file():
            return out  # another process converted it meanwhile (and may be reading it)
        if out.exists():
            shutil.rmtree(out)  # a leftover without model.bin
        try:
            (tmp / "model").rename(out)
        except OSError:
            if not (out / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _fill_null_tokens(config_path: Path) -> None:
    """A model without a BOS token converts to `"bos_token": null`, which CTranslate2 then
    refuses to load; prompts are given as tokens, so any vocabulary token stands in."""
    import json

    config = json.loads(config_path.read_text())
    stand_in = config.get("eos_token") or config.get("unk_token")
    changed = False
    for key in ("bos_token", "eos_token", "unk_token"):
        if key in config and config[key] is None and stand_in is not None:
            config[key] = stand_in
            changed = True
    if changed:
        config_path.write_text(json.dumps(config, indent=2))


def default_threads() -> int:
    """Half the cores, at most 4: CTranslate2's own default (4) oversubscribes a small shared
    machine (measured on 2 busy cores: beam 8 x 32 tokens in 4.1 s with it, 2.1 s with 1 thread)."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class CTranslate2Generator(LanguageModelGenerator):
    name = "ctranslate2"

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        device: str | None = None,
        threads: int | None = None,
        settings: DecodingSettings = DecodingSettings(),
        quantization: str = DEFAULT_QUANTIZATION,
    ):
        from transformers import AutoConfig, AutoTokenizer

        path = resolve_model(model)
        if getattr(AutoConfig.from_pretrained(path), "is_encoder_decoder", False):
            raise ConversionError("the ctranslate2 generator takes causal models only (use transformers)")
        import ctranslate2

        self.model_dir = Path(path)
        self.ct2_dir = convert_model(self.model_dir, quantization)
        self.model = str(model) if model is not None else "default"
        self.device = "cuda" if device and device.startswith("cuda") else "cpu"
        self.lm = ctranslate2.Generator(
            str(self.ct2_dir),
            device=self.device,
            compute_type=quantization if self.device == "cpu" else f"{quantization}_float16",
            intra_threads=threads or default_threads(),
            inter_threads=1,
        )
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.prompt_format = PromptFormat(
            self.tokenizer, max_prompt_tokens=settings.max_prompt_tokens, use_chat_template=True
        )
        self.settings = settings
        from transformers import GenerationConfig

        try:
            eos = GenerationConfig.from_pretrained(path).eos_token_id
        except OSError:
            eos = None
        self._eos_ids = end_of_sequence_ids(self.tokenizer, eos)
        self._line_end_ids = newline_token_ids(self.tokenizer)

    def _tokens(self, prompt: str) -> list[str]:
        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        return self.tokenizer.convert_ids_to_tokens(ids)

    def complete(self, request: DecodeRequest) -> list[list[Completion]]:
        if not request.prompts:
            return []
        import ctranslate2

        k = request.k
        stop_ids = self._eos_ids + (self._line_end_ids if request.single_line else [])
        prompts = [self._tokens(p) for p in request.prompts]
        common = dict(
            max_batch_size=self.settings.batch_size,
            end_token=stop_ids,
            return_end_token=True,  # a stop token such as ".\n" carries text of the tactic
            max_length=request.max_new_tokens,
            include_prompt_in_result=False,
            return_scores=True,
            length_penalty=0.0,  # scores are summed log-probabilities, not per-token means
        )
        if request.decoding == "beam":
            results = self.lm.generate_batch(
                prompts, beam_size=k, num_hypotheses=k, **common
            )
            per_prompt = [(r.sequences_ids, r.scores) for r in results]
        else:
            if request.seed is not None:
                ctranslate2.set_random_seed(request.seed)
            deadline = None if request.time_limit_s is None else time.perf_counter() + request.time_limit_s
            callback = None if deadline is None else (lambda step: time.perf_counter() > deadline)
            repeated = [p for p in prompts for _ in range(k)]
            results = self.lm.generate_batch(
                repeated, beam_size=1, sampling_topk=0, sampling_topp=1.0,
                sampling_temperature=request.temperature, callback=callback, **common,
            )
            per_prompt = [
                ([ids for r in results[i * k : (i + 1) * k] for ids in r.sequences_ids],
                 [s for r in results[i * k : (i + 1) * k] for s in r.scores])
                for i in range(len(prompts))
            ]
        return [
            [
                Completion(self.tokenizer.decode(ids, skip_special_tokens=True), float(score))
                for ids, score in zip(seqs, scores)
            ]
            for seqs, scores in per_prompt
        ]
