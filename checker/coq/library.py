"""Coq libraries on disk: where Coq keeps them, and compiling a folder of `.v` files.

Replaying a library file needs every file it requires compiled (`.vo`). The
installed libraries (the standard library, Debian's `libcoq-*` packages under
`user-contrib`) ship theirs; a user's folder is compiled here, into a build
folder that mirrors it, in dependency order (`coqdep -sort`), so the user's
tree is never written to.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from proofsmith.checker import child_process
from proofsmith.checker.backend import CheckerUnavailable


def _run(argv: list[str], timeout_s: float | None = 60.0, cwd: Path | None = None) -> subprocess.CompletedProcess:
    try:
        return child_process.run(argv, text=True, timeout_s=timeout_s, cwd=cwd)
    except FileNotFoundError:
        raise CheckerUnavailable(f"{argv[0]} not found on PATH: install Coq 8.16 (Debian: apt-get install coq)") from None


@functools.cache
def coqlib() -> Path:
    """Coq's library folder (`coqc -where`): the standard library is under theories/."""
    return Path(_run(["coqc", "-where"]).stdout.strip())


@functools.cache
def coq_version() -> str:
    """The installed Coq's version, e.g. "8.16.1"."""
    return _run(["coqc", "-print-version"]).stdout.split()[0]


def user_contrib() -> Path:
    return coqlib() / "user-contrib"


@functools.cache
def reserved_roots() -> frozenset[str]:
    """Logical roots Coq's installed libraries use (Coq, and each library under user-contrib)."""
    folder = user_contrib()
    installed = {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
    return frozenset({"Coq", *installed})


def reserved_binding(bindings) -> str:
    """Why a load path may not be used ("" when it may): a -Q/-R binding may not bind a logical root
    that Coq's own libraries use, or a file elsewhere could pose as Coq's library."""
    for binding in bindings:
        if binding.logical and binding.logical.split(".")[0] in reserved_roots():
            return (f"{binding.flag} {binding.directory} {binding.logical} binds {binding.logical.split('.')[0]}, "
                    "a logical root of Coq's installed libraries; bind your library under a name of its own")
    return ""


def up_to_date(source: Path) -> bool:
    vo = source.with_suffix(".vo")
    return vo.is_file() and vo.stat().st_mtime >= source.stat().st_mtime


@dataclass
class CompiledLibrary:
    """Where the `.vo` files of a folder live, and the files that did not compile."""

    root: Path  # the folder whose .vo files Coq should load
    logical: str
    failures: dict[str, str] = field(default_factory=dict)  # relative .v path -> coqc's message

    @property
    def loadpath(self) -> list[str]:
        return ["-R", str(self.root), self.logical]


def compile_library(
    source_root: Path, logical: str, build_root: Path, extra_args: list[str] | None = None, timeout_s: float = 1800.0
) -> CompiledLibrary:
    """Compile every `.v` file under `source_root` as library `logical` into `build_root`.

    Files whose copy in `build_root` is unchanged and already compiled are
    skipped, so a second call is cheap. A file that fails is recorded with
    coqc's message; files that require it then fail too, and are recorded.
    """
    extra = list(extra_args or [])
    build_root.mkdir(parents=True, exist_ok=True)
    relative = sorted(p.relative_to(source_root) for p in source_root.rglob("*.v"))
    for rel in relative:
        target = build_root / rel
        source_text = (source_root / rel).read_bytes()
        if not target.is_file() or target.read_bytes() != source_text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source_text)
    result = CompiledLibrary(build_root, logical)
    if not relative:
        return result
    loadpath = ["-R", ".", logical]
    order = _run(["coqdep", *loadpath, *extra, "-sort", *map(str, relative)], cwd=build_root)
    ordered = order.stdout.split() if order.returncode == 0 else []
    ordered = [str(Path(f).with_suffix(".v")) for f in ordered] or [str(r) for r in relative]
    stale = False  # once a file is rebuilt, everything after it may depend on it
    for rel in ordered:
        if not stale and up_to_date(build_root / rel):
            continue
        stale = True
        done = _run(["coqc", "-q", *loadpath, *extra, rel], timeout_s=timeout_s, cwd=build_root)
        if done.returncode != 0:
            result.failures[rel] = (done.stderr or done.stdout).strip()[-2000:] or f"coqc exited with {done.returncode}"
    return result
