"""Retrieval settings, overridable by PROOFSMITH_RETRIEVAL_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RetrievalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROOFSMITH_RETRIEVAL_", extra="ignore")

    cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "proofsmith" / "embeddings",
        description="where corpus embeddings are cached, keyed by corpus and model",
    )
    batch_size: int = Field(default=64, ge=1, description="texts per encoder batch")
    max_length: int = Field(default=256, ge=8, description="tokens kept per text")
    # Below this fraction of the corpus being accessible, a filtered HNSW/IVF
    # search wastes most of its visits on excluded premises, and the exact
    # index (which only scores accessible ones) is both faster and exact.
    approx_min_fraction: float = Field(default=0.05, ge=0.0, le=1.0)
    hnsw_m: int = Field(default=32, ge=4)
    hnsw_ef_search: int = Field(default=128, ge=1)
    ivf_nprobe: int = Field(default=32, ge=1)
    # Corpora up to this size get HNSW; larger ones get IVF (less memory, trains fast).
    hnsw_max_premises: int = Field(default=500_000, ge=1)
    # Exact search: candidates the half-precision stage returns at first
    # (at least; 4k for larger k), doubled whenever the bound cannot decide.
    exact_first_stage: int = Field(default=32, ge=1)
