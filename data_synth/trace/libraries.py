"""Which Coq libraries to trace: their files, logical names and where they come from.

A library is named (`stdlib`, `mathcomp`) or given as a folder of `.v` files
with its logical path (`-R folder Name`). A file's corpus path is its path
relative to the parent of the library's root folder, which is its path in the
library's own repository for the named ones: `theories/Arith/PeanoNat.v` (as in
github.com/coq/coq), `mathcomp/ssreflect/ssrnat.v` (as in math-comp).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

from proofsmith.checker.coq.library import coq_version, coqlib, up_to_date, user_contrib

NAMED = ("stdlib", "mathcomp")
_LOGICAL = re.compile(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*")


class LibraryError(ValueError):
    """A library that cannot be traced; the message names it and says why."""


@dataclass(frozen=True)
class CoqLibrary:
    name: str
    root: Path  # the folder bound to `logical`
    logical: str
    url: str = ""
    commit: str = ""
    installed: bool = False  # compiled and on Coq's default load path (stdlib, user-contrib)
    limit: int | None = None  # trace only the first files (in path order)

    def sample(self, limit: int) -> CoqLibrary:
        return replace(self, limit=limit)

    def files(self) -> list[LibraryFile]:
        out = []
        for source in sorted(self.root.rglob("*.v"))[: self.limit]:
            rel = source.relative_to(self.root)
            parts = [self.logical, *rel.with_suffix("").parts]
            module = ".".join(parts)
            out.append(
                LibraryFile(
                    library=self,
                    source=source,
                    path=str(Path(self.root.name) / rel),
                    module=module,
                    noinit=self.name == "stdlib" and module.startswith("Coq.Init."),
                )
            )
        return out

    def compiled_in_place(self) -> bool:
        return self.installed or all(up_to_date(f.source) for f in self.files())


@dataclass(frozen=True)
class LibraryFile:
    library: CoqLibrary = field(repr=False)
    source: Path
    path: str  # corpus path
    module: str  # logical module name, e.g. Coq.Arith.PeanoNat
    noinit: bool = False  # compiled without the Prelude (Coq's own Init files)


def _debian_version(package: str) -> str:
    if shutil.which("dpkg-query") is None:
        return ""
    done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return done.stdout.split("-")[0] if done.returncode == 0 else ""


def stdlib() -> CoqLibrary:
    root = coqlib() / "theories"
    if not any(root.rglob("*.v")):
        raise LibraryError(f"stdlib: no .v sources under {root} (Debian: apt-get install libcoq-stdlib)")
    return CoqLibrary("stdlib", root, "Coq", "https://github.com/coq/coq", f"V{coq_version()}", installed=True)


def mathcomp() -> CoqLibrary:
    root = user_contrib() / "mathcomp"
    if not root.is_dir() or not any(root.rglob("*.v")):
        raise LibraryError(
            f"mathcomp: no .v sources under {root} (Debian: apt-get install libcoq-mathcomp-ssreflect)"
        )
    version = _debian_version("libcoq-mathcomp-ssreflect")
    return CoqLibrary(
        "mathcomp", root, "mathcomp", "https://github.com/math-comp/math-comp",
        f"mathcomp-{version}" if version else "", installed=True,
    )


def from_folder(folder: str | Path, logical: str | None = None) -> CoqLibrary:
    root = Path(folder).resolve()
    if not root.is_dir():
        raise LibraryError(f"{folder}: no such folder (a library is stdlib, mathcomp or a folder of .v files)")
    if not any(root.rglob("*.v")):
        raise LibraryError(f"{folder}: no .v files in this folder")
    logical = logical or root.name
    if not _LOGICAL.fullmatch(logical):
        raise LibraryError(f"{logical!r}: not a Coq logical path (dot-separated identifiers)")
    installed = root == (user_contrib() / Path(*logical.split("."))).resolve()
    return CoqLibrary(root.name, root, logical, installed=installed)


def resolve(specs: list[str], logical_paths: list[str] | None = None) -> list[CoqLibrary]:
    """Libraries from `--library` values; `--logical-path` values go, in order, to the folders."""
    logical_paths = list(logical_paths or [])
    folders = [s for s in specs if s not in NAMED]
    if len(logical_paths) > len(folders):
        raise LibraryError(
            f"{len(logical_paths)} --logical-path values for {len(folders)} library folder(s); "
            "give one per folder, in the same order"
        )
    libraries = []
    for spec in specs:
        if spec == "stdlib":
            libraries.append(stdlib())
        elif spec == "mathcomp":
            libraries.append(mathcomp())
        else:
            libraries.append(from_folder(spec, logical_paths.pop(0) if logical_paths else None))
    seen: dict[str, CoqLibrary] = {}
    for lib in libraries:
        for f in lib.files():
            if f.path in seen and seen[f.path] != lib:
                raise LibraryError(f"{f.path}: the same path in two libraries ({seen[f.path].root}, {lib.root})")
            seen[f.path] = lib
    if len({lib.logical for lib in libraries}) != len(libraries):
        raise LibraryError("two libraries with the same logical path: " + ", ".join(lib.logical for lib in libraries))
    return libraries
