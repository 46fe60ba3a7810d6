"""What a library sentence is, read from its text: a declaration, a proof's end, a Require.

Coq itself says what a sentence did (goals, "x is defined"); the text is read
only for what Coq does not report: the keyword a declaration was written with
(Lemma or Definition), the name of a proof being opened, the library names a
`Require` asked for, and section boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proofsmith.checker.coq.guard import PROOF_STRUCTURE, THEOREM_KEYWORDS, VERNACULAR
from proofsmith.checker.coq.sentences import SentenceKind, leading_word, strip_comments

DECLARATION_KEYWORDS = THEOREM_KEYWORDS | frozenset(
    (
        "Definition", "Fixpoint", "CoFixpoint", "Function", "Instance", "Let", "Class", "Record", "Structure",
        "Inductive", "CoInductive", "Variant", "Scheme", "Axiom", "Axioms", "Parameter", "Parameters",
        "Conjecture", "Conjectures", "Hypothesis", "Hypotheses", "Variable", "Variables", "Coercion",
        "Canonical", "Derive", "Goal", "Add",
    )
)
INDUCTIVE_KEYWORDS = frozenset({"Inductive", "CoInductive", "Variant", "Record", "Structure", "Class"})
PREFIXES = frozenset(
    {"Local", "Global", "Polymorphic", "Monomorphic", "Program", "Cumulative", "NonCumulative", "Private"}
)
SUCCESSFUL_CLOSERS = frozenset({"Qed", "Defined", "Save", "Proof"})  # `Proof term.` ends a proof too
PROOF_CLOSERS = SUCCESSFUL_CLOSERS | {"Admitted", "Abort"}

_ATTRIBUTE = re.compile(r"#\[[^\]]*\]\s*")
_NAME = re.compile(r"[A-Za-z_\u00c0-\uffff][\w'\u00c0-\uffff]*")
_QUALID = re.compile(r"[A-Za-z_\u00c0-\uffff][\w'\u00c0-\uffff]*(?:\.[A-Za-z_\u00c0-\uffff][\w'\u00c0-\uffff]*)*")


@dataclass(frozen=True)
class Declaration:
    keyword: str  # as written: Lemma, Definition, Instance, ...
    name: str | None  # None when anonymous (`Instance : C.`, `Goal T.`)


def _body(text: str) -> str:
    body = strip_comments(text).strip()
    while body.startswith("#["):
        m = _ATTRIBUTE.match(body)
        if m is None:
            break
        body = body[m.end():]
    return body


def declaration(text: str) -> Declaration | None:
    """The keyword and name of a declaring sentence, or None if it declares nothing by name."""
    words = _body(text).split(None, 1)
    while words and words[0] in PREFIXES:
        words = words[1].split(None, 1) if len(words) > 1 else []
    if not words or words[0] not in DECLARATION_KEYWORDS:
        return None
    keyword = words[0]
    rest = words[1] if len(words) > 1 else ""
    if keyword == "Add":  # Add [Parametric] Morphism ... as NAME opens a proof of NAME
        m = re.search(r"\bas\s+(" + _NAME.pattern + r")\s*\.?$", rest)
        return Declaration(keyword, m.group(1) if m else None)
    if keyword == "Canonical" and rest.startswith("Structure"):
        rest = rest[len("Structure"):].lstrip()
    m = _NAME.match(rest)
    name = m.group(0) if m and keyword != "Goal" else None
    return Declaration(keyword, name)


def is_tactic(sentence_text: str, kind: SentenceKind) -> bool:
    """A sentence inside a proof that is a tactic (not a bullet, brace or vernacular command)."""
    if kind is not SentenceKind.COMMAND:
        return False
    word = leading_word(sentence_text)
    return word in PROOF_STRUCTURE or word not in VERNACULAR


def closer(sentence_text: str) -> str | None:
    """Qed, Defined, Admitted, ... when the sentence is one; None otherwise."""
    word = leading_word(sentence_text)
    return word if word in PROOF_CLOSERS else None


def section_name(sentence_text: str) -> str | None:
    m = re.match(r"Section\s+(\S+?)\s*\.$", _body(sentence_text))
    return m.group(1) if m else None


def end_name(sentence_text: str) -> str | None:
    m = re.match(r"End\s+(\S+?)\s*\.$", _body(sentence_text))
    return m.group(1) if m else None


@dataclass(frozen=True)
class Requirement:
    prefix: str | None  # the `From` part
    names: tuple[str, ...]

    def matches(self, name: str, library: str) -> bool:
        """Whether the loaded library `library` is what `name` of this Require refers to."""
        if self.prefix and not library.startswith(self.prefix + "."):
            return False
        return library == name or library.endswith("." + name)


def requirement(text: str) -> Requirement | None:
    """The libraries a `[From P] Require [Import|Export] A B.` sentence names."""
    body = _body(text).rstrip(".").strip()
    m = re.match(r"(?:From\s+(\S+)\s+)?Require\s+(.*)$", body, re.S)
    if m is None:
        return None
    rest = re.sub(r"\([^)]*\)", " ", m.group(2))  # import categories: Require Import (notations) A
    names = [w for w in _QUALID.findall(rest) if w not in ("Import", "Export")]
    return Requirement(m.group(1), tuple(names))
