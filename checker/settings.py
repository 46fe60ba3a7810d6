"""All checker settings in one place, overridable by PROOFSMITH_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from proofsmith.formats.coq_load_path import LoadPath

DEFAULT_COQ_PRELUDE = "From Coq Require Import Lia Lra Psatz Ring Field."
# CoqHammer's reconstruction tactics (sauto, hauto, qauto, scongruence use: ...), added to the
# prelude only for provers run with the hammer (CheckerSettings.with_hammer): loading the library
# for every proof would change every check.
HAMMER_PRELUDE = "From Hammer Require Import Tactics."

# Axioms a proof may depend on: any axiom declared in Coq's own standard
# library (the Reals library rests on several: sig_forall_dec,
# functional_extensionality_dep, classic, ...). Patterns are fnmatch-style,
# matched against the fully qualified name. Axioms the problem's own header
# declares are always allowed on top of these.
DEFAULT_COQ_ALLOWED_AXIOMS = ["Coq.*"]

# The three axioms of Lean's own logic; `native_decide` adds the compiler-trust
# axioms (checker.lean.guard.NATIVE_AXIOMS) when lean_allow_native_decide is set.
DEFAULT_LEAN_ALLOWED_AXIOMS = ["propext", "Classical.choice", "Quot.sound"]


class CheckerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROOFSMITH_", extra="ignore")

    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    timeout_s: float = Field(default=60.0, gt=0)
    memory_mb: int = Field(default=4096, ge=256, description="address-space cap per process")
    coq_stack_mb: int = Field(
        default=1024, ge=8, description="stack limit per Coq process: long proofs recurse deeply (8 MB allows ~35k sentences)"
    )
    max_uses: int = Field(default=2000, ge=1, description="checks before a process is recycled")
    coq_context_timeout_s: float = Field(
        default=900.0, gt=0, description="time to replay a library file up to a theorem proved in context"
    )

    cache_dir: Path | None = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "proofsmith",
        description="on-disk caches (library axioms, converted models); None keeps them in memory",
    )

    coq_binary: str = "coqidetop.opt"
    coq_args: list[str] = Field(default_factory=list, description="extra flags, e.g. -Q dir Lib")
    coq_prelude: str = DEFAULT_COQ_PRELUDE
    coq_allowed_axioms: list[str] = Field(default_factory=lambda: list(DEFAULT_COQ_ALLOWED_AXIOMS))
    coq_assumptions: Literal["fast", "coq"] = Field(
        default="fast",
        description="fast: per-global cached Print Assumptions, falling back to Coq's where it cannot decide; "
        "coq: Coq's own Print Assumptions of every proof (slower; bench/axiom_differential.py compares them)",
    )

    lean_repl: str = Field(default="repl", description="the REPL executable (leanprover-community/repl, .lake/build/bin/repl)")
    lean_repl_args: list[str] = Field(default_factory=list)
    lean_project_dir: str | None = Field(
        default=None, description="a Lake project with Mathlib; the REPL then runs as `lake env REPL` inside it"
    )
    lean_memory_mb: int = Field(default=16384, ge=256, description="resident-memory cap per REPL process")
    lean_header_timeout_s: float = Field(default=600.0, gt=0, description="time allowed for a header (import Mathlib)")
    lean_allowed_axioms: list[str] = Field(default_factory=lambda: list(DEFAULT_LEAN_ALLOWED_AXIOMS))
    lean_allow_native_decide: bool = False

    fstar_binary: str = Field(default="fstar.exe", description="the F* executable, started as `fstar.exe --ide FILE`")
    fstar_args: list[str] = Field(default_factory=list, description="extra arguments, before F*'s own")
    fstar_include: list[str] = Field(
        default_factory=list, description="--include directories (a dataset's sources and .checked files)"
    )
    fstar_cwd: str | None = None
    fstar_memory_mb: int = Field(default=8192, ge=256, description="resident-memory cap per F* process, Z3 included")
    fstar_prefix_timeout_s: float = Field(
        default=600.0, gt=0, description="time allowed to load a file's checked prefix or a scratch header"
    )
    fstar_assume_warnings: list[int] = Field(
        default_factory=lambda: [335], description="warnings that report an admitted or assumed fact (fail a candidate)"
    )

    kimina_url: str = "http://localhost:8000"
    kimina_api_key: str | None = None
    kimina_batch_size: int = Field(default=32, ge=1, description="snippets per HTTP request")

    @property
    def coq_hammer(self) -> bool:
        """Whether the tactic prelude loads CoqHammer's tactics."""
        return HAMMER_PRELUDE in self.coq_prelude

    def with_hammer(self) -> CheckerSettings:
        """A copy whose tactic prelude also loads CoqHammer's tactics (sauto, hauto, qauto, ...)."""
        if self.coq_hammer:
            return self
        return self.model_copy(update={"coq_prelude": f"{self.coq_prelude} {HAMMER_PRELUDE}".strip()})

    def with_load_path(self, load_path: LoadPath) -> CheckerSettings:
        """A copy whose Coq processes also get `load_path` (after the flags coq_args already holds)."""
        from proofsmith.formats.coq_load_path import LoadPath

        if not load_path:
            return self
        merged = LoadPath.from_coq_args(self.coq_args, where="coq_args").merged(load_path)
        return self.model_copy(update={"coq_args": merged.coq_args()})
