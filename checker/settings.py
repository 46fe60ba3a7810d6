"""All checker settings in one place, overridable by PROOFSMITH_* environment variables."""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_COQ_PRELUDE = "From Coq Require Import Lia Lra Psatz Ring Field."

# Axioms a proof may depend on: any axiom declared in Coq's own standard
# library (the Reals library rests on several: sig_forall_dec,
# functional_extensionality_dep, classic, ...). Patterns are fnmatch-style,
# matched against the fully qualified name. Axioms the problem's own header
# declares are always allowed on top of these.
DEFAULT_COQ_ALLOWED_AXIOMS = ["Coq.*"]


class CheckerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROOFSMITH_", extra="ignore")

    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    timeout_s: float = Field(default=60.0, gt=0)
    memory_mb: int = Field(default=4096, ge=256, description="address-space cap per process")
    max_uses: int = Field(default=2000, ge=1, description="checks before a process is recycled")

    coq_binary: str = "coqidetop.opt"
    coq_args: list[str] = Field(default_factory=list, description="extra flags, e.g. -Q dir Lib")
    coq_prelude: str = DEFAULT_COQ_PRELUDE
    coq_allowed_axioms: list[str] = Field(default_factory=lambda: list(DEFAULT_COQ_ALLOWED_AXIOMS))
