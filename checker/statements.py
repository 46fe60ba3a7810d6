"""A theorem statement as each backend writes it: `parse_statement(backend, text)`.

The grammar is the backend's own, the one its checker applies (the Coq and
Lean guards' statement parsers, F*'s `val` declarations), so a statement
accepted here is one the checker reads the same way. Backends are imported
only when asked for.

    parse_statement("coq", "Theorem t : forall n : nat, n + 0 = n.")   # Statement("t", ...)
    parse_statement("lean", "theorem t (n : Nat) : n + 0 = n := by sorry")
    parse_statement("fstar", "val incr : x:int -> y:int{y > x}")
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Statement:
    name: str  # the declared name, as written
    text: str  # the statement as the checker takes it


class StatementError(ValueError):
    """Not a statement of the backend; `expected` says what one looks like."""

    def __init__(self, backend: str, text: str, expected: str):
        super().__init__(f"statement {text[:60]!r}: expected {expected}")
        self.backend = backend
        self.text = text
        self.expected = expected


def _coq(text: str) -> str | None:
    from proofsmith.checker.coq.guard import GuardRejection, parse_statement

    try:
        return parse_statement(text).name
    except GuardRejection:
        return None


# A Lean statement may be pasted with its placeholder proof; the checker wants the declaration alone.
_LEAN_PROOF_TAIL = re.compile(r"\s*:=\s*(?:by\s*)?(?:sorry)?\s*$")


def _lean(text: str) -> str | None:
    from proofsmith.checker.lean.guard import GuardRejection, parse_statement

    try:
        return parse_statement(text).written_name  # None for `example`: a statement to prove has a name
    except GuardRejection:
        return None


def _fstar(text: str) -> str | None:
    from proofsmith.checker.fstar.syntax import parse_val

    declared = parse_val(text)
    return declared.name if declared is not None else None


# backend -> (the declared name or None, what a statement looks like, the proof placeholder it may carry)
_SYNTAX: dict[str, tuple[Callable[[str], str | None], str, re.Pattern | None]] = {
    "coq": (_coq, "'Theorem NAME : ... .' (or Lemma, Example, ...)", None),
    "lean": (_lean, "'theorem NAME ... : TYPE' (':= by sorry' may follow)", _LEAN_PROOF_TAIL),
    "fstar": (_fstar, "'val NAME : TYPE' (the header names the module: 'module M', opens)", None),
}
STATEMENT_BACKENDS = tuple(_SYNTAX)


def parse_statement(backend: str, text: str) -> Statement:
    """The statement `text` declares in `backend`'s syntax; StatementError when it declares none."""
    try:
        declared_name, expected, placeholder = _SYNTAX[backend]
    except KeyError:
        raise ValueError(f"no statement syntax for backend {backend!r}; choose one of {', '.join(_SYNTAX)}") from None
    if placeholder is not None:
        text = placeholder.sub("", text)
    name = declared_name(text)
    if not name:
        raise StatementError(backend, text, expected)
    return Statement(name, text.strip())
