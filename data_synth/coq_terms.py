"""Light structure of Coq terms as text: equation sides, constants, declaration types.

Mutation asks Coq whether a rewrite or an apply works; this module only
decides which premises are worth asking about (the constants a premise's
side mentions must all occur in the statement). Tokens, binders and the key
of a statement up to bound names (de-duplication) are formats.statement_key's.
It reads terms the way Coq prints them (`forall n m : nat, n + 0 = n`) and
declarations as they are written in sources (`Lemma foo (n : nat) : n + 0 = n.`),
and it never has to be exact: a wrong guess costs one checker call, never a
wrong mutant (the checker judges every one).
"""

from __future__ import annotations

from proofsmith.checker.coq.guard import THEOREM_KEYWORDS
from proofsmith.formats.statement_key import (
    BINDING_KEYWORDS,
    OPEN_BRACKETS,
    TERM_KEYWORDS,
    group_end,
    is_identifier,
    parse_binders,
    strip_parens,
    tokenize,
    top_level,
)

_NOT_CONSTANTS = frozenset({":", ":=", "=>", "|", ";", ".", "@", "'", "&", "!", "`", "->", "<->", "=", ","})
# operators that bind more loosely than `=`: a conclusion whose top level has
# one of them is not an equation even if it contains `=` at the top level
_LOOSER_THAN_EQ = frozenset({"/\\", "\\/", "~", "<->", "->"})


def sides(conclusion: list[str]) -> tuple[str, list[str], list[str]] | None:
    """("eq"|"iff", lhs, rhs) when the conclusion is an equation or an iff."""
    top = top_level(conclusion)
    iffs = [i for i, t in top if t == "<->"]
    if len(iffs) == 1:
        k = iffs[0]
        return "iff", strip_parens(conclusion[:k]), strip_parens(conclusion[k + 1 :])
    if iffs or any(t in _LOOSER_THAN_EQ for _, t in top):
        return None
    eqs = [i for i, t in top if t == "="]
    if len(eqs) == 1:
        k = eqs[0]
        return "eq", strip_parens(conclusion[:k]), strip_parens(conclusion[k + 1 :])
    return None


def constants(tokens: list[str] | tuple[str, ...], bound: frozenset[str] | set[str] = frozenset()) -> frozenset[str]:
    """The global names and notation symbols a term mentions (qualified names by
    their last component), without bound variables, punctuation and keywords."""
    inner_bound = set(bound)
    toks = list(tokens)
    for i, t in enumerate(toks):
        if t in BINDING_KEYWORDS:
            found, _ = parse_binders(toks[i + 1 :], frozenset({",", "=>", ":="}))
            inner_bound.update(b.name for b in found if b.name)
    out = set()
    for i, t in enumerate(toks):
        if t == "[" and i + 1 < len(toks) and toks[i + 1] == "]":
            out.add("nil")  # ListNotations' `[]`, which Coq prints as `nil` unless imported
            continue
        if t in OPEN_BRACKETS or t in (")", "]", "}", ",") or t in TERM_KEYWORDS or t in _NOT_CONSTANTS:
            continue
        if t.startswith("%") or t.startswith('"'):
            continue
        if is_identifier(t):
            if t in inner_bound:
                continue
            out.add(t.rsplit(".", 1)[-1])
        else:
            out.add(t)
    return frozenset(out)


def declaration_type(code: str) -> list[str]:
    """The type of a declaration as tokens, binders turned into a leading `forall`.

    Accepts source text (`Lemma foo (n : nat) : T.` possibly followed by its
    proof), `name : T` as `About`/`Check` print it, or a bare type.
    """
    tokens = tokenize(code)
    # attributes and locality prefixes
    while tokens and tokens[0] in ("Local", "Global", "Polymorphic", "Monomorphic", "Program"):
        tokens = tokens[1:]
    if tokens and tokens[0] == "#[":
        tokens = tokens[group_end(tokens, 0) :]
    if len(tokens) >= 2 and tokens[0] in THEOREM_KEYWORDS | {"Definition", "Instance", "Let"}:
        rest = tokens[2:]
        binders, k = parse_binders(rest, frozenset({":", ":="}))
        if k < len(rest) and rest[k] == ":":
            body = _until_period(rest[k + 1 :])
            if binders:
                prefix = ["forall"]
                for b in binders:
                    prefix += ["(", b.name or "_", ":", *b.type, ")"]
                return prefix + [","] + body
            return body
        return []
    if len(tokens) >= 3 and is_identifier(tokens[0]) and tokens[1] == ":":
        return _until_period(tokens[2:])
    return _until_period(tokens)


def _until_period(tokens: list[str]) -> list[str]:
    for i, t in enumerate(tokens):
        if t == ":=" or (t.endswith(".") and t != "." and not is_identifier(t)):
            return tokens[:i]
        if t == ".":
            return tokens[:i]
    return tokens


def statement_type(statement: str) -> list[str]:
    """Tokens of the type of a `Theorem name : T.` statement."""
    return declaration_type(statement)
