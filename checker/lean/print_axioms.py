"""Lean's answer to `#print axioms NAME`, read from its message text.

Lean (src/Lean/Elab/Print.lean, printAxiomsOf) logs one info message for each
constant that NAME resolves to (more than one when NAME is ambiguous after
`open`):

    'N' does not depend on any axioms
    'N' depends on axioms: [A, B, C]

Names are printed by `Name.toString`: parts joined by dots, a part that is not
an identifier escaped in «guillemets», where spaces, commas, brackets and dots
may then stand. The list is a `Format` group: when it does not fit the line,
Lean breaks it after every comma (a newline and one space), and `#guard_msgs`,
which is all the evidence of these texts, compares up to whitespace, so any run
of whitespace is read as a space. The order of the list differs between
versions (it changed at v4.10, some nightlies have others) and means nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PART = r"(?:«[^»]*»|[^\s.,\[\]«»]+)"
_NAME = rf"{_PART}(?:\.{_PART})*"
_ANSWER = re.compile(
    rf"\s*'(?P<constant>{_NAME})'\s+(?:"
    r"does\s+not\s+depend\s+on\s+any\s+axioms"
    rf"|depends\s+on\s+axioms:\s*\[\s*(?P<axioms>{_NAME}(?:\s*,\s*{_NAME})*)\s*\]"
    r")\s*"
)
_NAME_AT = re.compile(_NAME)


def plain_name(printed: str) -> str:
    """A printed name without its «escapes», as the guard writes names everywhere else."""
    return printed.replace("«", "").replace("»", "")


@dataclass(frozen=True)
class AxiomsAnswer:
    constant: str  # fully qualified, «escapes» removed
    axioms: tuple[str, ...]  # in Lean's order, «escapes» removed

    def is_about(self, name: str) -> bool:
        """Whether this answers `#print axioms name`, `name` as written (Lean resolves it in the open namespaces)."""
        return self.constant == name or self.constant.endswith("." + name)


def parse_axioms_answer(text: str) -> AxiomsAnswer | None:
    """The answer in one message's text, or None if the text is not a `#print axioms` answer."""
    m = _ANSWER.fullmatch(text)
    if m is None:
        return None
    listed = m.group("axioms") or ""
    axioms = tuple(plain_name(a.group(0)) for a in _NAME_AT.finditer(listed))
    return AxiomsAnswer(plain_name(m.group("constant")), axioms)
