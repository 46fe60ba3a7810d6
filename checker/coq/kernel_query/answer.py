"""The kernel-query plugin's answers (one line of JSON each), read strictly into typed values.

Anything of a shape this module does not know (a missing field, an unknown
kind, a second notice) raises KernelAnswerUnreadable: nothing is guessed, so
an unknown kind of assumption can never be dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Literal, TypeVar, overload

VERSION = 1


class KernelAnswerUnreadable(ValueError):
    """The plugin answered in a shape this reader does not know."""


class Origin(str, Enum):
    LIBRARY = "library"  # a loaded library (a .vo file)
    CURRENT = "current"  # the document being checked (header, file above, the proof)
    BOUND = "bound"  # a bound module: a functor's or module type's parameter
    SECTION = "section"  # a section variable's own reference


class Declared(str, Enum):
    """How a constant was declared (Coq's logical kind)."""

    AXIOM = "axiom"  # Axiom, Hypothesis (outside a section)
    PARAMETER = "parameter"  # Parameter, Variable (outside a section), Declare Module fields
    CONTEXT = "context"  # Context outside a section
    CONJECTURE = "conjecture"  # Admitted, Conjecture: never a hypothesis
    PRIMITIVE = "primitive"
    DEFINITION = "definition"
    PROOF = "proof"
    UNKNOWN = "unknown"  # Coq keeps no kind for it (a module parameter's field)


class Body(str, Enum):
    NONE = "none"
    DEFINED = "defined"
    OPAQUE = "opaque"
    PRIMITIVE = "primitive"
    UNKNOWN = "unknown"


class FactKind(str, Enum):
    CONSTANT = "constant"  # a constant without a body
    SECTION_VARIABLE = "section-variable"
    GUARD = "guard"  # assumed guarded
    POSITIVITY = "positivity"  # assumed positive
    TYPE_IN_TYPE = "type-in-type"  # relies on an unsafe universe hierarchy
    UIP = "uip"  # relies on definitional UIP


@dataclass(frozen=True, order=True)
class KernelGlobal:
    kernel: str  # the kernel name (user part)
    canonical: str
    name: str | None  # the full logical path Coq would print, None when it has none
    origin: Origin
    library: str  # the root library's logical name (a bound module's id for Origin.BOUND)
    file: str | None = None  # Origin.LIBRARY: the .vo Coq loaded it from
    declared: Declared | None = None  # constants only
    body: Body | None = None

    @property
    def display(self) -> str:
        return self.name or self.kernel


@dataclass(frozen=True, order=True)
class KernelFact:
    """One assumption of a global, as the kernel knows it."""

    kind: FactKind
    subject: KernelGlobal | None  # None for a section variable
    variable: str = ""  # the section variable's name


@dataclass(frozen=True)
class KernelAnswer:
    subject: KernelGlobal
    impredicative_set: bool
    type_in_type: bool
    facts: tuple[KernelFact, ...]


@dataclass(frozen=True)
class KernelDeclarations:
    """What the current document declares without a body, and its section variables."""

    library: str
    constants: frozenset[KernelGlobal]
    variables: frozenset[str]


def _load(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise KernelAnswerUnreadable(f"expected one line of JSON, got {len(lines)}: {text[:200]!r}")
    try:
        value = json.loads(lines[0])
    except (ValueError, RecursionError) as exc:
        raise KernelAnswerUnreadable(f"not JSON ({exc}): {lines[0][:200]!r}") from None
    if not isinstance(value, dict) or value.get("proofsmith_kernel_query") != VERSION:
        raise KernelAnswerUnreadable(f"not a kernel-query answer of version {VERSION}: {lines[0][:200]!r}")
    return value


_T = TypeVar("_T")


@overload
def _get(record: dict, key: str, kind: type[_T], optional: Literal[False] = False) -> _T: ...
@overload
def _get(record: dict, key: str, kind: type[_T], optional: bool) -> _T | None: ...
def _get(record: dict, key: str, kind: type[_T], optional: bool = False) -> _T | None:
    if key not in record:
        if optional:
            return None
        raise KernelAnswerUnreadable(f"field {key!r} missing in {json.dumps(record)[:200]}")
    value = record[key]
    if optional and value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise KernelAnswerUnreadable(f"field {key!r} is not a {kind.__name__}: {value!r:.100}")
    return value


def _enum(cls, value):
    try:
        return cls(value)
    except ValueError:
        raise KernelAnswerUnreadable(f"unknown {cls.__name__}: {value!r:.100}") from None


def _global(record: dict) -> KernelGlobal:
    origin = _enum(Origin, _get(record, "origin", str))
    declared = _get(record, "declared", str, optional=True)
    body = _get(record, "body", str, optional=True)
    return KernelGlobal(
        kernel=_get(record, "kernel", str),
        canonical=_get(record, "canonical", str, optional=origin is Origin.SECTION) or _get(record, "kernel", str),
        name=_get(record, "name", str, optional=True),
        origin=origin,
        library=_get(record, "library", str, optional=origin is Origin.SECTION) or "",
        file=_get(record, "file", str, optional=True),
        declared=_enum(Declared, declared) if declared is not None else None,
        body=_enum(Body, body) if body is not None else None,
    )


def _fact(record: dict) -> KernelFact:
    if not isinstance(record, dict):
        raise KernelAnswerUnreadable(f"an assumption is not an object: {record!r:.100}")
    kind = _enum(FactKind, _get(record, "kind", str))
    if kind is FactKind.SECTION_VARIABLE:
        return KernelFact(kind, None, _get(record, "kernel", str))
    return KernelFact(kind, _global(record))


def _theory(value: dict) -> tuple[bool, bool]:
    theory = _get(value, "theory", dict)
    return _get(theory, "impredicative_set", bool), _get(theory, "type_in_type", bool)


def parse_assumptions(text: str) -> KernelAnswer:
    """`ProofsmithAssumptions NAME.`'s answer."""
    value = _load(text)
    impredicative, collapsed = _theory(value)
    facts = tuple(_fact(item) for item in _get(value, "assumptions", list))
    return KernelAnswer(_global(_get(value, "global", dict)), impredicative, collapsed, facts)


def parse_declarations(text: str) -> KernelDeclarations:
    """`ProofsmithDeclarations.`'s answer."""
    value = _load(text)
    constants, variables = set(), set()
    for fact in (_fact(item) for item in _get(value, "declarations", list)):
        if fact.kind is FactKind.SECTION_VARIABLE:
            variables.add(fact.variable)
        elif fact.kind is FactKind.CONSTANT and fact.subject is not None:
            constants.add(fact.subject)
        else:
            raise KernelAnswerUnreadable(f"unexpected declaration {fact}")
    return KernelDeclarations(_get(value, "library", str), frozenset(constants), frozenset(variables))
