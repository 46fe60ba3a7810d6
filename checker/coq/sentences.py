"""Splitting Coq text into the sentences Coq itself would see.

coqidetop's `Add` runs only the first sentence of the string it is given and
silently drops the rest, and a bullet (`-`, `+`, `*`, repeated) or a brace is
a sentence of its own. So every script is split here, with Coq's lexical rules
for what can hide a period: nested comments, strings (with `""` as the escaped
quote, also inside comments), and qualified names (`Nat.add`). A sentence ends
at a period followed by whitespace or the end of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class SentenceKind(str, Enum):
    COMMAND = "command"  # a tactic or vernacular ending in a period
    BULLET = "bullet"  # -, +, *, --, ...
    BRACE = "brace"  # { or } (optionally with a goal selector: `2: {`)


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offsets into the original string, text == source[start:end]
    end: int
    kind: SentenceKind


class CoqSyntaxError(ValueError):
    """The text cannot be split: an unterminated comment or string, or a missing final period."""


# What Coq's lexer (CLexer.blank_or_eof) takes for a blank: a period ends a sentence only before
# one of these (or the end); a form feed, a vertical tab or a no-break space is not one.
_BLANK = " \t\r\n"
_SELECTOR_BRACE = re.compile(r"(?:\d+|\[\s*[A-Za-z_][\w']*\s*\])\s*:\s*\{")


def _skip_comment(text: str, i: int) -> int:
    """`text[i:i+2] == "(*"`; return the index just past the matching `*)`."""
    depth = 0
    n = len(text)
    while i < n:
        if text.startswith("(*", i):
            depth += 1
            i += 2
        elif text.startswith("*)", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        elif text[i] == '"':
            i = _skip_string(text, i)
        else:
            i += 1
    raise CoqSyntaxError("unterminated comment")


def _skip_string(text: str, i: int) -> int:
    """`text[i] == '"'`; return the index just past the closing quote (`""` escapes a quote)."""
    i += 1
    n = len(text)
    while i < n:
        if text[i] == '"':
            if i + 1 < n and text[i + 1] == '"':
                i += 2
                continue
            return i + 1
        i += 1
    raise CoqSyntaxError("unterminated string")


def _skip_blanks_and_comments(text: str, i: int) -> int:
    n = len(text)
    while i < n:
        if text[i] in _BLANK:
            i += 1
        elif text.startswith("(*", i):
            i = _skip_comment(text, i)
        else:
            break
    return i


_SURROGATE = re.compile("[\ud800-\udfff]")


def split_sentences(text: str) -> list[Sentence]:
    """All sentences of `text`, comments between sentences dropped."""
    surrogate = _SURROGATE.search(text)
    if surrogate:
        raise CoqSyntaxError(f"a lone surrogate (U+{ord(surrogate.group()):04X}) at offset {surrogate.start()}: "
                             "not Unicode text Coq can read")
    sentences: list[Sentence] = []
    n = len(text)
    i = _skip_blanks_and_comments(text, 0)
    while i < n:
        ch = text[i]
        if ch in "-+*":
            j = i
            while j < n and text[j] == ch:
                j += 1
            sentences.append(Sentence(text[i:j], i, j, SentenceKind.BULLET))
            i = _skip_blanks_and_comments(text, j)
            continue
        if ch in "{}":
            sentences.append(Sentence(ch, i, i + 1, SentenceKind.BRACE))
            i = _skip_blanks_and_comments(text, i + 1)
            continue
        m = _SELECTOR_BRACE.match(text, i)
        if m:
            sentences.append(Sentence(m.group(0), i, m.end(), SentenceKind.BRACE))
            i = _skip_blanks_and_comments(text, m.end())
            continue
        j = i
        while True:
            if j >= n:
                raise CoqSyntaxError(f"sentence at offset {i} does not end with a period: {text[i:i + 60]!r}")
            c = text[j]
            if c == '"':
                j = _skip_string(text, j)
            elif text.startswith("(*", j):
                j = _skip_comment(text, j)
            elif text.startswith("..", j):
                j += 2  # `..` of recursive notations never ends a sentence (CoqIDE's rule)
            elif c == "." and (j + 1 >= n or text[j + 1] in _BLANK):
                j += 1
                break
            else:
                j += 1
        sentences.append(Sentence(text[i:j], i, j, SentenceKind.COMMAND))
        i = _skip_blanks_and_comments(text, j)
    return sentences


def strip_comments(text: str) -> str:
    """`text` with every comment replaced by one space (strings kept intact)."""
    if "(*" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("(*", i):
            i = _skip_comment(text, i)
            out.append(" ")
        elif text[i] == '"':
            j = _skip_string(text, i)
            out.append(text[i:j])
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


_IDENT = re.compile(r"[A-Za-z_\u00c0-\uffff][\w'\u00c0-\uffff]*")


_SELECTOR = re.compile(r"(?:all|par|!|\d+(?:\s*-\s*\d+)?(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*|\[\s*[\w']+\s*\])\s*:(?!=)")


def after_selector(sentence_text: str) -> str:
    """A sentence without comments and without its goal selector (`all:`, `2:`, `1-3:`, `[x]:`)."""
    body = strip_comments(sentence_text).strip()
    selector = _SELECTOR.match(body)
    return body[selector.end():].lstrip() if selector else body


def leading_word(sentence_text: str) -> str:
    """The first identifier of a sentence, after comments and any goal selector."""
    m = _IDENT.match(after_selector(sentence_text))
    return m.group(0) if m else ""
