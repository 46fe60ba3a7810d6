"""The Coq soundness guard: what a proof script and its result may contain.

Model output is hostile input. A proof is a sequence of tactic sentences; any
vernacular command among them (Admitted, Qed before the end, a new Lemma or
Axiom, Reset/Back, typing-flag switches, Require, ...) is rejected before Coq
sees it, by looking at each sentence exactly as Coq will split it. The session
then adds the statement itself, the tactics one sentence at a time, its own
`Qed.`, and reads `Print Assumptions`, whose every entry must be an allowed
axiom. Every rejection says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from proofsmith.checker.coq.sentences import (
    CoqSyntaxError,
    Sentence,
    SentenceKind,
    after_selector,
    leading_word,
    split_sentences,
    strip_comments,
)


class GuardRejection(ValueError):
    """A proof or statement that must not reach the checker; the message is the reason."""


THEOREM_KEYWORDS = frozenset(
    {"Theorem", "Lemma", "Fact", "Remark", "Corollary", "Proposition", "Property", "Example"}
)

# Every command of the Coq 8.16 reference manual's command index that can start
# a sentence, plus the control prefixes and attributes. A sentence whose first
# word is one of these is not a tactic.
VERNACULAR = frozenset(
    """
    Abort About Add Admit Admitted Arguments Axiom Axioms Back BackTo Bind Canonical Cd Check
    Class Close CoFixpoint CoInductive Coercion Collection Combined Compute Conjecture
    Conjectures Constraint Context Corollary Create Cumulative Declare Defined Definition
    Delimit Derive Drop Enable Disable End Eval Example Existential Existing Export Extract
    Extraction Fact Fail Field Fixpoint Focus From Function Functional Generalizable Global Goal
    Guarded Hint Hypotheses Hypothesis Identity Implicit Import Include Inductive Infix Info
    Inline Inspect Instance Instructions Lemma Let Load Local Locate Ltac Ltac2 Module
    Monomorphic NonCumulative Notation Number Numeral Obligation Obligations Opaque Open
    Optimize Parameter Parameters Polymorphic Prenex Preterm Primitive Print Private Profile
    Program Proof Property Proposition Pwd Qed Quit Record Recursive Redirect Register Remark
    Remove Require Reserved Reset Restart Save Scheme Search SearchAbout SearchHead
    SearchPattern SearchRewrite Section Separate Set Show Solve Strategy String Structure
    SubClass Succeed Tactic Test Theorem Time Timeout Transparent Typeclasses Undelimit Undo
    Unfocus Unfocused Universe Universes Unset Variable Variables Variant Debug
    Next Final Generate Comments Chapter Firstorder Attributes Symbol Equations Grammar Zify
    Hammer_version Hammer_cleanup Hammer_objects Predict
    ProofsmithAssumptions ProofsmithCoqAssumptions ProofsmithDeclarations
    """.split()
)
# No tactic of Coq 8.16 or of the libraries the prelude loads starts with an upper-case letter,
# while every command does: an unknown capitalised first word is a command (a plugin's, say)
# unless Coq knows it as an Ltac name the problem defined.
_CAPITALISED = re.compile(r"^[A-Z]")
_QUALIFIED = re.compile(r"\.[^\W\d]")  # `Module.tactic`: a qualified Ltac name, never a command

# Tactics that give a goal up: the proof would not be a proof.
GIVE_UP_TACTICS = frozenset({"admit", "give_up"})

# Vernacular that is part of ordinary proof structure and changes nothing global.
PROOF_STRUCTURE = frozenset({"Unshelve", "Grab"})
# Scopes change only how later tactic text parses; the kernel checks the final term
# against the statement the checker added, and Edit_at undoes them after the proof.
_SCOPE_COMMAND = re.compile(r"^(?:Local\s+)?(?:Open|Close)\s+Scope\s+[\w.']+\s*\.$")

_PROOF_OPENER = re.compile(r"^Proof(?:\s+(?:using|with)\b.*)?\.$", re.S)
_PROOF_CLOSER = frozenset({"Qed.", "Defined."})


@dataclass(frozen=True)
class ParsedStatement:
    name: str
    text: str


def parse_statement(statement: str) -> ParsedStatement:
    """Check that `statement` is exactly one `Theorem|Lemma|... NAME ... .` sentence."""
    try:
        sentences = split_sentences(statement)
    except CoqSyntaxError as exc:
        raise GuardRejection(f"statement: {exc}") from None
    if len(sentences) != 1 or sentences[0].kind is not SentenceKind.COMMAND:
        raise GuardRejection(f"statement must be exactly one sentence, found {len(sentences)}")
    body = strip_comments(sentences[0].text).strip()
    # attributes and universe binders are the statement's own: the kernel reports any unsafe flag they set
    m = re.match(r"(?:#\[[^\]]*\]\s*)*(?:(?:Local|Global|Polymorphic|Monomorphic)\s+)*(\w+)\s+([^\W\d][\w']*)", body)
    if not m or m.group(1) not in THEOREM_KEYWORDS:
        raise GuardRejection(
            "statement must start with one of " + ", ".join(sorted(THEOREM_KEYWORDS)) + " and a name"
        )
    return ParsedStatement(name=m.group(2), text=sentences[0].text)


def tactic_sentences(proof: str, is_ltac: Callable[[str], bool] | None = None) -> list[Sentence]:
    """The sentences of a proof script, with an optional leading `Proof.` and final
    `Qed.`/`Defined.` removed; raises GuardRejection naming the offending sentence.

    `is_ltac(word)` says whether Coq knows a capitalised first word as an Ltac name
    (without it, every capitalised first word is refused)."""
    try:
        sentences = split_sentences(proof)
    except CoqSyntaxError as exc:
        raise GuardRejection(f"proof: {exc}") from None
    if sentences and sentences[-1].kind is SentenceKind.COMMAND and strip_comments(sentences[-1].text).strip() in _PROOF_CLOSER:
        sentences = sentences[:-1]
    for index, sentence in enumerate(sentences):
        if sentence.kind is not SentenceKind.COMMAND:
            continue
        check_tactic_sentence(sentence.text, first=index == 0, is_ltac=is_ltac)
    if not any(s.kind is SentenceKind.COMMAND for s in sentences):
        raise GuardRejection("proof has no tactic")
    return sentences


def check_tactic_sentence(text: str, first: bool = False, is_ltac: Callable[[str], bool] | None = None) -> None:
    """Raise GuardRejection unless `text` is one tactic sentence (or a leading `Proof.`)."""
    body = strip_comments(text).strip()
    if body.startswith("#["):
        raise GuardRejection(f"attribute {body[:40]!r} is not allowed in a proof")
    word = leading_word(text)
    if word == "Proof" and first and _PROOF_OPENER.match(body):
        return
    if word in GIVE_UP_TACTICS:
        raise GuardRejection(f"{word!r} gives up a goal: {_clip(body)}")
    if word in PROOF_STRUCTURE or _SCOPE_COMMAND.match(body):
        return
    if word in VERNACULAR:
        raise GuardRejection(f"vernacular command {word!r} is not allowed in a proof: {_clip(body)}")
    if _CAPITALISED.match(word) and not _QUALIFIED.match(after_selector(body)[len(word):]) and not (
            is_ltac is not None and is_ltac(word)):
        raise GuardRejection(f"{word!r} is neither a tactic nor an Ltac name of the problem: {_clip(body)}")
    if not word and not after_selector(body).startswith(("(", "[", "!", "<")):
        raise GuardRejection(f"not a tactic: {_clip(body)}")
    # A tactic expression can still name give-up tactics after `;` or inside tactic combinators.
    for token in re.findall(r"[A-Za-z_][\w']*", _without_strings(body)):
        if token in GIVE_UP_TACTICS:
            raise GuardRejection(f"{token!r} gives up a goal: {_clip(body)}")


def _without_strings(text: str) -> str:
    return re.sub(r'"(?:[^"]|"")*"', '""', text)


def _clip(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."
