"""Build a Checker by backend name; backends are imported only when asked for."""

from __future__ import annotations

from typing import Callable

from checker.backend import Checker
from checker.settings import CheckerSettings


def _coq(settings: CheckerSettings) -> Checker:
    from checker.coq.session import CoqSession
    from checker.pool import PooledChecker

    CoqSession(settings).close()  # fail fast, with the install hint, when Coq is missing
    return PooledChecker(lambda: CoqSession(settings), settings)


def _lean(settings: CheckerSettings) -> Checker:
    from checker.lean.session import LeanSession
    from checker.pool import PooledChecker

    LeanSession(settings).close()  # fail fast, with the install hint, when the REPL is missing
    return PooledChecker(lambda: LeanSession(settings), settings)


def _fstar(settings: CheckerSettings) -> Checker:
    from checker.fstar.session import FStarSession
    from checker.pool import PooledChecker

    FStarSession(settings).close()  # fail fast, with the install hint, when fstar.exe is missing
    return PooledChecker(lambda: FStarSession(settings), settings)


def _kimina(settings: CheckerSettings) -> Checker:
    from checker.kimina import KiminaChecker

    return KiminaChecker(settings)


BACKENDS: dict[str, Callable[[CheckerSettings], Checker]] = {
    "coq": _coq,
    "lean": _lean,
    "kimina": _kimina,
    "fstar": _fstar,
}


def open_checker(backend: str = "coq", settings: CheckerSettings | None = None) -> Checker:
    try:
        factory = BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(sorted(BACKENDS))}") from None
    return factory(settings or CheckerSettings())
