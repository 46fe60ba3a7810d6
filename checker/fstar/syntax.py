"""Just enough of F*'s lexical structure for the guard: comments, strings, tokens, nesting.

Where this scanner and F*'s lexer could disagree, it errs towards seeing more
code than F* does (a false rejection), never less: `(*)` is not taken as a
comment opener, comments nest (F*'s do), and quotes inside comments are not
strings (if F* lexed them as strings, its comment would only be longer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class LexError(ValueError):
    pass


@dataclass(frozen=True)
class Scanned:
    code: str  # the text with comments and the insides of literals blanked, positions kept
    strings: tuple[str, ...]  # the string literals' contents


_CHAR_LITERAL = re.compile(r"'(?:\\(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-9]{3}|.)|[^'\\\n])'")


def _ident_char(text: str, i: int) -> bool:
    return i >= 0 and (text[i].isalnum() or text[i] in "_'")


def scan(text: str, literals: bool = True) -> Scanned:
    """Blank comments (and, if `literals`, the insides of string and char literals); LexError
    on an unterminated comment or string."""
    out = list(text)
    strings: list[str] = []

    def blank(start: int, end: int) -> None:
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "

    i, n = 0, len(text)
    while i < n:
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            blank(i, end)
            i = end
        elif text.startswith("(*", i) and not text.startswith("(*)", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("(*", j) and not text.startswith("(*)", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*)", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise LexError("unterminated comment (* ... *)")
            blank(i, j)
            i = j
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise LexError("unterminated string literal")
            strings.append(text[i + 1 : j])
            if literals:
                blank(i + 1, j)
            i = j + 1
        elif text[i] == "'" and not _ident_char(text, i - 1):
            m = _CHAR_LITERAL.match(text, i)
            if m:
                if literals:
                    blank(i + 1, m.end() - 1)
                i = m.end()
            else:
                i += 1
        else:
            i += 1
    return Scanned("".join(out), tuple(strings))


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    depth: int  # bracket nesting (parentheses, brackets, braces, begin/end) before the token


_IDENT = r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*"
_TOKEN = re.compile(
    r"let[!?$&*+\-./:<=>@^|~%]+"  # monadic let binders (let!, let?, let*)
    r"|#[a-z][\w-]*"  # pragmas (#set-options) and implicit arguments (#a)
    r"|\[@@@|\[@@|\[@"  # attributes
    r"|\[\||\|\]|\{\||\|\}"
    rf"|{_IDENT}"
    r"|[()\[\]{},;]"
    r"|[!$%&*+\-./:<=>?@^|~]+"  # operators
)
_OPENERS = {"(", "[", "{", "[|", "{|", "[@", "[@@", "[@@@", "begin"}
_CLOSERS = {")", "]", "}", "|]", "|}", "end"}


def tokens(code: str) -> list[Token]:
    """Tokens of scanned code (comments and literals already blanked), with their nesting depth."""
    result: list[Token] = []
    depth = 0
    for m in _TOKEN.finditer(code):
        text = m.group(0)
        if text in _CLOSERS:
            depth = max(depth - 1, 0)
        result.append(Token(text, m.start(), depth))
        if text in _OPENERS:
            depth += 1
    return result


def squeezed(text: str) -> str:
    """`text` without comments and whitespace: for comparing declarations."""
    try:
        code = _strip_comments(text)
    except LexError:
        code = text
    return "".join(code.split())


def same_code(a: str, b: str) -> bool:
    """Whether two texts are the same F* code: equal tokens and literals, whatever the spacing and comments."""
    try:
        sa, sb = scan(a), scan(b)
    except LexError:
        return False
    return sa.strings == sb.strings and [t.text for t in tokens(sa.code)] == [t.text for t in tokens(sb.code)]


def _strip_comments(text: str) -> str:
    return scan(text, literals=False).code


_OP_NAMES = {
    "+": "Plus", "-": "Minus", "*": "Star", "/": "Slash", "<": "Less", ">": "Greater", "=": "Equals",
    "@": "At", "^": "Hat", "!": "Bang", "%": "Percent", ".": "Dot", "$": "Dollar", "&": "Amp", "|": "Bar",
    "~": "Tilde", "?": "Qmark", ":": "Colon",
}


def operator_name(op: str) -> str | None:
    """F*'s name for an operator (`+^` is `op_Plus_Hat`), or None if it is not one."""
    try:
        return "op_" + "_".join(_OP_NAMES[c] for c in op)
    except KeyError:
        return None


@dataclass(frozen=True)
class ValDeclaration:
    name: str
    type: str  # the text after the declaration's colon


def parse_val(statement: str) -> ValDeclaration | None:
    """`val NAME binders : TYPE` (qualifiers and attributes before it allowed), else None."""
    try:
        scanned = scan(statement)
    except LexError:
        return None
    toks = tokens(scanned.code)
    k = 0
    while k < len(toks) and toks[k].text != "val":
        if toks[k].depth == 0 and toks[k].text not in QUALIFIERS and not toks[k].text.startswith("[@"):
            return None
        k += 1
    if k + 1 >= len(toks):
        return None
    name_tok = toks[k + 1]
    name = name_tok.text
    if name == "(" and k + 3 < len(toks) and toks[k + 3].text == ")":
        name = operator_name(toks[k + 2].text) or toks[k + 2].text
    for tok in toks[k + 2 :]:
        if tok.depth == 0 and tok.text == ":":
            return ValDeclaration(name, statement[tok.start + 1 :].strip())
    return None


# Qualifiers a top-level definition may carry.
QUALIFIERS = frozenset(
    {"inline_for_extraction", "noextract", "unfold", "irreducible", "private", "total", "inline", "abstract", "ghost"}
)
