"""CoqHammer: whether it is installed, and the `hammer` tactic run out of band.

Two parts of CoqHammer are used. Its reconstruction tactics (`sauto`, `hauto`,
`qauto`, `scongruence use: ...`) live in the library `Hammer.Tactics` and need
no external prover: a proof made of them re-checks with plain `coqc` once the
library is loaded (`CheckerSettings.with_hammer()` adds it to the tactic
prelude). The `hammer` tactic itself (plugin `Hammer.Plugin.Hammer`) selects
premises, runs the ATPs (E, CVC4; Vampire and Z3's `z3_tptp` where installed)
and prints the reconstruction it found after "Replace the hammer tactic
with:"; only that reconstruction goes into a proof, so a proof never depends
on an ATP.

`hammer` runs here in its own `coqc` process on a file holding the prelude,
the header and the statement (`run_hammer`): the interactive session does not
hand back the messages of a tactic, and the ATPs it starts are then killed
with their process group when the time is up. The reconstruction is then run
and checked in the prover's own session like any tactic.

Debian's `libcoq-hammer` puts its helpers `htimeout` and `predict` in
/usr/libexec/coq-hammer; the plugin calls `predict` (and `htimeout` for E) by
that path but `htimeout` for CVC4 by bare name, so that folder goes on the
PATH of the `coqc` that runs the hammer.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# Where Debian's libcoq-hammer puts htimeout and predict (upstream's `make install` puts them in bin/).
HELPER_DIRS = ("/usr/libexec/coq-hammer",)
# The ATP executables the plugin looks for, by the name it runs them under.
ATPS = ("eprover", "vampire", "z3_tptp", "cvc4")

HAMMER_LIBRARY = "From Hammer Require Import Tactics."
HAMMER_PLUGIN = "From Hammer Require Import Hammer."

# The tactic ends at the first full stop that ends a line (a long one may be wrapped).
_REPLACE = re.compile(r"Replace the hammer tactic with:\s*(.+?\.)(?=\s*(?:\n|$))", re.DOTALL)


@functools.cache
def coq_library_dir(coqc: str = "coqc") -> Path | None:
    """Coq's library folder (`coqc -where`), or None without a coqc."""
    if shutil.which(coqc) is None:
        return None
    try:
        out = subprocess.run([coqc, "-where"], capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out) if out else None


@functools.cache
def tactics_installed(coqc: str = "coqc") -> bool:
    """Whether CoqHammer's tactic library (sauto, hauto, ...) is installed for this Coq. Detected once."""
    where = coq_library_dir(coqc)
    return where is not None and (where / "user-contrib" / "Hammer" / "Tactics" / "Tactics.vo").is_file()


def helper_dir() -> str | None:
    """The folder that holds `htimeout` and `predict`, or None when neither is found."""
    for d in HELPER_DIRS:
        if os.access(os.path.join(d, "htimeout"), os.X_OK) and os.access(os.path.join(d, "predict"), os.X_OK):
            return d
    found = shutil.which("htimeout")
    if found and shutil.which("predict"):
        return os.path.dirname(found)
    return None


def hammer_env() -> dict[str, str]:
    """The environment for a process that runs `hammer`: the helpers' folder on PATH."""
    env = dict(os.environ)
    d = helper_dir()
    if d and d not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = d + os.pathsep + env.get("PATH", "")
    return env


def atps_found() -> tuple[str, ...]:
    return tuple(a for a in ATPS if shutil.which(a, path=hammer_env()["PATH"]))


@functools.cache
def hammer_installed(coqc: str = "coqc") -> bool:
    """The `hammer` tactic can run: the plugin, its helpers and at least one ATP."""
    where = coq_library_dir(coqc)
    plugin = where is not None and (where / "user-contrib" / "Hammer" / "Plugin" / "Hammer.vo").is_file()
    return plugin and helper_dir() is not None and bool(atps_found())


def missing_reason(need_plugin: bool = False, coqc: str = "coqc") -> str | None:
    """Why CoqHammer cannot be used here (None when it can)."""
    if not tactics_installed(coqc):
        return ("CoqHammer is not installed for this Coq (Debian: apt-get install libcoq-hammer eprover cvc4 z3; "
                "or opam install coq-hammer)")
    if need_plugin and not hammer_installed(coqc):
        return (f"the hammer tactic needs its helpers htimeout and predict (found in: {helper_dir() or 'nowhere'}) "
                f"and an ATP ({', '.join(ATPS)}; found: {', '.join(atps_found()) or 'none'})")
    return None


@dataclass
class HammerResult:
    tactic: str | None  # the reconstruction to put in the proof, None when the hammer found none
    time_s: float
    timed_out: bool = False
    log: str = field(default="", repr=False)


def reconstruction(output: str) -> str | None:
    """The tactic after "Replace the hammer tactic with:" in the hammer's output (the last one)."""
    found = _REPLACE.findall(output)
    return " ".join(found[-1].split()) if found else None


def hammer_script(prelude: str, header: str, statement: str, atp_limit_s: int, reconstr_limit_s: int) -> str:
    return "\n".join([
        prelude,
        HAMMER_PLUGIN,
        f"Set Hammer ATPLimit {atp_limit_s}.",
        f"Set Hammer ReconstrLimit {reconstr_limit_s}.",
        header,
        statement,
        "Proof.",
        "hammer.",
        "Abort.",
        "",
    ])


def run_hammer(
    prelude: str,
    header: str,
    statement: str,
    timeout_s: float,
    coq_args: tuple[str, ...] | list[str] = (),
    coqc: str = "coqc",
    atp_limit_s: int | None = None,
    reconstr_limit_s: int = 5,
) -> HammerResult:
    """Run `hammer` on the statement's initial goal in a `coqc` of its own; what it reconstructed.

    The whole process group (coqc and the ATPs it starts) is killed at `timeout_s`.
    """
    t0 = time.monotonic()
    if atp_limit_s is None:
        atp_limit_s = max(1, min(10, int(timeout_s / 2)))
    with tempfile.TemporaryDirectory(prefix="proofsmith-hammer-") as tmp:
        path = Path(tmp) / "Hammered.v"
        path.write_text(hammer_script(prelude, header, statement, atp_limit_s, reconstr_limit_s))
        proc = subprocess.Popen(
            [coqc, *coq_args, str(path)], cwd=tmp, env=hammer_env(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        timed_out = False
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            out = ""
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the ATPs hammer left running too
            except ProcessLookupError:
                pass
            if timed_out:
                out, _ = proc.communicate()
    return HammerResult(reconstruction(out or ""), time.monotonic() - t0, timed_out, out or "")
