"""Light structure of Coq terms as text: tokens, telescopes, equation sides, keys.

Mutation asks Coq whether a rewrite or an apply works; this module only
decides which premises are worth asking about (the constants a premise's
side mentions must all occur in the statement) and when two statements are
the same up to bound-variable names and whitespace (de-duplication). It reads
terms the way Coq prints them (`forall n m : nat, n + 0 = n`) and declarations
as they are written in sources (`Lemma foo (n : nat) : n + 0 = n.`), and it
never has to be exact: a wrong guess costs one checker call or one missed
duplicate, never a wrong mutant (the checker judges every one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proofsmith.checker.coq.guard import THEOREM_KEYWORDS

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"]|"")*")
      | (?P<scope>%[A-Za-z_][\w']*)
      | (?P<ident>[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*)
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<bracket>[()\[\]{}])
      | (?P<comma>,)
      | (?P<symbol>[^\sA-Za-z_\d()\[\]{},"]+)
    )""",
    re.X,
)

BINDING_KEYWORDS = frozenset({"forall", "exists", "exists2", "fun", "let", "fix", "cofix"})
TERM_KEYWORDS = BINDING_KEYWORDS | frozenset(
    {"match", "with", "end", "in", "if", "then", "else", "as", "return", "Prop", "Set", "Type", "SProp", "_"}
)
_OPEN = {"(": ")", "[": "]", "{": "}"}
_NOT_CONSTANTS = frozenset({":", ":=", "=>", "|", ";", ".", "@", "'", "&", "!", "`", "->", "<->", "=", ","})
# operators that bind more loosely than `=`: a conclusion whose top level has
# one of them is not an equation even if it contains `=` at the top level
_LOOSER_THAN_EQ = frozenset({"/\\", "\\/", "~", "<->", "->"})


def tokenize(text: str) -> list[str]:
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        tokens.append(m.group(m.lastgroup or 0))  # every alternative of _TOKEN is a named group
        pos = m.end()
    return tokens


def _is_ident(token: str) -> bool:
    return bool(token) and (token[0].isalpha() or token[0] == "_") and token not in TERM_KEYWORDS


def _close(tokens: list[str], i: int) -> int:
    """Index just past the bracket group opened at tokens[i]."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j] in _OPEN:
            depth += 1
        elif tokens[j] in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return j + 1
    return len(tokens)


def _top_level(tokens: list[str]) -> list[tuple[int, str]]:
    """(index, token) of tokens at bracket depth 0, stopping at a binder keyword
    (whose scope runs to the end of the term)."""
    out = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in _OPEN:
            i = _close(tokens, i)
            continue
        if t in BINDING_KEYWORDS:
            break
        out.append((i, t))
        i += 1
    return out


def _strip_parens(tokens: list[str]) -> list[str]:
    while tokens and tokens[0] == "(" and _close(tokens, 0) == len(tokens):
        tokens = tokens[1:-1]
    return tokens


@dataclass(frozen=True)
class Binder:
    name: str | None  # None for an anonymous hypothesis (`A -> B`)
    type: tuple[str, ...]


def parse_binders(tokens: list[str], stop: frozenset[str]) -> tuple[list[Binder], int]:
    """Binders `x y : T`, `(x : T) {y : U}`, `x` up to a `stop` token at depth 0.
    Returns the binders and the index of the stop token."""
    binders: list[Binder] = []
    i = 0
    names: list[str] = []
    while i < len(tokens):
        t = tokens[i]
        if t in stop:
            binders.extend(Binder(n, ("_",)) for n in names)
            return binders, i
        if t in _OPEN:
            end = _close(tokens, i)
            group = tokens[i + 1 : end - 1]
            if ":" in group:
                k = group.index(":")
                typ = tuple(t for t in group[k + 1 :] if t != ":=") or ("_",)
                binders.extend(Binder(n.lstrip("'"), typ) for n in group[:k] if _is_ident(n.lstrip("'")))
            else:
                binders.extend(Binder(n, ("_",)) for n in group if _is_ident(n))
            i = end
            continue
        if t == ":":
            j = i + 1
            depth_end = j
            while depth_end < len(tokens) and tokens[depth_end] not in stop:
                depth_end = _close(tokens, depth_end) if tokens[depth_end] in _OPEN else depth_end + 1
            binders.extend(Binder(n, tuple(tokens[j:depth_end])) for n in names)
            return binders, depth_end
        if _is_ident(t):
            names.append(t)
        i += 1
    binders.extend(Binder(n, ("_",)) for n in names)
    return binders, len(tokens)


def telescope(tokens: list[str]) -> tuple[list[Binder], list[str]]:
    """Leading `forall` binders and `->` hypotheses, and the conclusion."""
    binders: list[Binder] = []
    tokens = _strip_parens(list(tokens))
    while tokens:
        if tokens[0] == "forall":
            found, k = parse_binders(tokens[1:], frozenset({","}))
            binders.extend(found)
            tokens = _strip_parens(tokens[k + 2 :])
            continue
        arrow = next((i for i, t in _top_level(tokens) if t == "->"), None)
        if arrow is None:
            break
        binders.append(Binder(None, tuple(_strip_parens(tokens[:arrow]))))
        tokens = _strip_parens(tokens[arrow + 1 :])
    return binders, tokens


def sides(conclusion: list[str]) -> tuple[str, list[str], list[str]] | None:
    """("eq"|"iff", lhs, rhs) when the conclusion is an equation or an iff."""
    top = _top_level(conclusion)
    iffs = [i for i, t in top if t == "<->"]
    if len(iffs) == 1:
        k = iffs[0]
        return "iff", _strip_parens(conclusion[:k]), _strip_parens(conclusion[k + 1 :])
    if iffs or any(t in _LOOSER_THAN_EQ for _, t in top):
        return None
    eqs = [i for i, t in top if t == "="]
    if len(eqs) == 1:
        k = eqs[0]
        return "eq", _strip_parens(conclusion[:k]), _strip_parens(conclusion[k + 1 :])
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
        if t in _OPEN or t in (")", "]", "}", ",") or t in TERM_KEYWORDS or t in _NOT_CONSTANTS:
            continue
        if t.startswith("%") or t.startswith('"'):
            continue
        if _is_ident(t):
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
        tokens = tokens[_close(tokens, 0) :]
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
    if len(tokens) >= 3 and _is_ident(tokens[0]) and tokens[1] == ":":
        return _until_period(tokens[2:])
    return _until_period(tokens)


def _until_period(tokens: list[str]) -> list[str]:
    for i, t in enumerate(tokens):
        if t == ":=" or (t.endswith(".") and t != "." and not _is_ident(t)):
            return tokens[:i]
        if t == ".":
            return tokens[:i]
    return tokens


def alpha_key(tokens: list[str]) -> str:
    """A text equal for statements that differ only in bound names and spacing.

    Every binder (leading `forall`s, named hypotheses, inner `forall`/`fun`/
    `exists`) gets a positional placeholder; `forall (H : A), B` with H unused
    and `A -> B` give the same key.
    """
    binders, conclusion = telescope(tokens)
    rename: dict[str, str] = {}
    out: list[str] = []
    for i, b in enumerate(binders):
        out.append("∀" + " ".join(_renamed(list(b.type), rename)) + ".")
        if b.name:
            rename[b.name] = f"#{i}"
    out.append("⊢")
    out.extend(_renamed(conclusion, rename))
    return " ".join(out)


def _renamed(tokens: list[str], outer: dict[str, str]) -> list[str]:
    rename = dict(outer)
    out = []
    counter = len(outer)
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in BINDING_KEYWORDS:
            found, _ = parse_binders(tokens[i + 1 :], frozenset({",", "=>", ":="}))
            for b in found:
                if b.name:
                    rename[b.name] = f"#b{counter}"
                    counter += 1
        out.append(rename.get(t, t))
        i += 1
    return out


def statement_type(statement: str) -> list[str]:
    """Tokens of the type of a `Theorem name : T.` statement."""
    return declaration_type(statement)
