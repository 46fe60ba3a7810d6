"""Build a Checker by backend name, or say before that when its tool is missing; backends are
imported only when asked for."""

from __future__ import annotations

from collections.abc import Callable

from proofsmith.checker.backend import Checker
from proofsmith.checker.settings import CheckerSettings


def _coq(settings: CheckerSettings) -> Checker:
    from proofsmith.checker.coq.session import CoqSession
    from proofsmith.checker.pool import PooledChecker

    CoqSession(settings).close()  # fail fast, with the install hint, when Coq is missing
    return PooledChecker(lambda: CoqSession(settings), settings)


def _lean(settings: CheckerSettings) -> Checker:
    from proofsmith.checker.lean.session import LeanSession
    from proofsmith.checker.pool import PooledChecker

    LeanSession(settings).close()  # fail fast, with the install hint, when the REPL is missing
    return PooledChecker(lambda: LeanSession(settings), settings)


def _fstar(settings: CheckerSettings) -> Checker:
    from proofsmith.checker.fstar.session import FStarSession
    from proofsmith.checker.pool import PooledChecker

    FStarSession(settings).close()  # fail fast, with the install hint, when fstar.exe is missing
    return PooledChecker(lambda: FStarSession(settings), settings)


def _kimina(settings: CheckerSettings) -> Checker:
    from proofsmith.checker.kimina import KiminaChecker

    return KiminaChecker(settings)


BACKENDS: dict[str, Callable[[CheckerSettings], Checker]] = {
    "coq": _coq,
    "lean": _lean,
    "kimina": _kimina,
    "fstar": _fstar,
}


def _lean_installed(settings: CheckerSettings) -> None:
    from proofsmith.checker.lean.session import repl_command

    repl_command(settings)


def _fstar_installed(settings: CheckerSettings) -> None:
    from proofsmith.checker.fstar.session import fstar_command

    fstar_command(settings)


# Backends whose tool can be looked for without starting it.
_INSTALLED: dict[str, Callable[[CheckerSettings], None]] = {
    "lean": _lean_installed,
    "fstar": _fstar_installed,
}


def ensure_installed(backend: str, settings: CheckerSettings | None = None) -> None:
    """CheckerUnavailable, with the install instructions, when the backend's tool is missing, found
    without starting it (so a command can say so before it loads a model); the other backends
    say so when `open_checker` starts them."""
    probe = _INSTALLED.get(backend)
    if probe is not None:
        probe(settings or CheckerSettings())


def open_checker(backend: str = "coq", settings: CheckerSettings | None = None) -> Checker:
    try:
        factory = BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(sorted(BACKENDS))}") from None
    return factory(settings or CheckerSettings())
