"""Building the kernel-query plugin (kernel_query.mlg) for the Coq installed here.

The plugin is compiled with `coq_makefile` against the installed Coq's OCaml
libraries (Debian: libcoq-core-ocaml-dev) into a cache folder outside the
repository, one folder per Coq (its `coqc -where`, version, OCaml compiler)
and plugin source, so a changed Coq gets a fresh build and an unchanged one
costs a stat. The folder is laid out as a findlib tree: coqidetop started with
`-I <folder>` loads it with `Declare ML Module "coq-proofsmith-kernel-query.plugin"`.

    .venv/bin/python -m proofsmith.checker.coq.kernel_query.build   # at set-up

Where it cannot be built, `plugin_folder` says why once (a warning) and
returns None: the checker then asks Coq's own `Print Assumptions`.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from proofsmith.checker import child_process

log = logging.getLogger(__name__)

PACKAGE = "coq-proofsmith-kernel-query"
LOAD_SENTENCE = f'Declare ML Module "{PACKAGE}.plugin".'
SOURCE = Path(__file__).with_name("kernel_query.mlg")
ARCHIVE = "proofsmith_kernel_query"
BUILD_TIMEOUT_S = 300.0

_META = f"""package "plugin" (
  description = "proofsmith kernel query: assumptions of a global as JSON"
  requires = "coq-core.vernac"
  archive(byte) = "{ARCHIVE}.cma"
  archive(native) = "{ARCHIVE}.cmxa"
  plugin(byte) = "{ARCHIVE}.cma"
  plugin(native) = "{ARCHIVE}.cmxs"
)
directory = "."
"""

_LOCK = threading.Lock()
_warned: set[str] = set()


class PluginBuildError(RuntimeError):
    """The plugin could not be built; the message says which step failed and Coq's tools' output."""


def _tool_output(argv: list[str]) -> str:
    try:
        done = child_process.run(argv, text=True, timeout_s=60.0)
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        raise PluginBuildError(f"{argv[0]}: {exc}") from None
    if done.returncode != 0:
        raise PluginBuildError(f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout.strip()


@functools.cache
def installation_key(coq_binary: str = "coqidetop") -> str:
    """What the build depends on: the plugin source and the Coq and OCaml it is compiled for."""
    parts = [
        SOURCE.read_text(encoding="utf-8"),
        _tool_output(["coqc", "-where"]),
        _tool_output(["coqc", "-print-version"]),
        os.path.realpath(shutil.which(coq_binary) or coq_binary),
        _tool_output(["ocamlfind", "ocamlopt", "-version"]),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def default_cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "proofsmith"


def build(target: Path) -> None:
    """Compile the plugin into `target` (a findlib folder: target/PACKAGE/META and the .cmxs)."""
    if shutil.which("coq_makefile") is None:
        raise PluginBuildError("coq_makefile not found on PATH (Debian: apt-get install coq)")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="kernel-query-build-", dir=target.parent))
    try:
        shutil.copy(SOURCE, work / SOURCE.name)
        (work / f"{ARCHIVE}.mllib").write_text("Kernel_query\n")
        (work / "_CoqProject").write_text(f"-I .\n{SOURCE.name}\n{ARCHIVE}.mllib\n")
        steps = (["coq_makefile", "-f", "_CoqProject", "-o", "Makefile"], ["make", "-s", f"{ARCHIVE}.cmxs"])
        for argv in steps:
            try:
                done = child_process.run(argv, text=True, timeout_s=BUILD_TIMEOUT_S, cwd=work)
            except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
                raise PluginBuildError(f"{' '.join(argv)}: {exc}") from None
            if done.returncode != 0:
                output = (done.stderr + done.stdout).strip()[-2000:]
                hint = "" if "coq-core" not in output and "Unbound module" not in output else \
                    " (are Coq's OCaml libraries installed? Debian: apt-get install libcoq-core-ocaml-dev)"
                raise PluginBuildError(f"{' '.join(argv)} failed{hint}: {output}")
        package = work / "findlib" / PACKAGE
        package.mkdir(parents=True)
        shutil.copy(work / f"{ARCHIVE}.cmxs", package)
        (package / "META").write_text(_META)
        if target.exists():
            shutil.rmtree(target)
        (work / "findlib").rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def plugin_folder(cache_root: Path | None = None, coq_binary: str = "coqidetop") -> Path | None:
    """The findlib folder holding the plugin for this Coq (built on first use); None, warned once, if it cannot be."""
    root = cache_root or default_cache_root()
    try:
        target = root / "coq-kernel-query" / installation_key(coq_binary)
        if (target / PACKAGE / f"{ARCHIVE}.cmxs").is_file():
            return target
        with _LOCK:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target.parent / ".lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # other processes building the same plugin wait
                if not (target / PACKAGE / f"{ARCHIVE}.cmxs").is_file():
                    build(target)
        return target
    except (PluginBuildError, OSError) as exc:
        warn_once(f"the kernel-query plugin cannot be built ({exc}); assumptions come from Coq's Print "
                  "Assumptions instead (slower)")
        return None


def warn_once(message: str) -> None:
    with _LOCK:
        if message in _warned:
            return
        _warned.add(message)
    log.warning("%s", message)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = plugin_folder()
    if folder is None:
        return 1
    print(f"kernel-query plugin: {folder / PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
