"""Readers of what plain `coqc` prints for the re-check's own queries (eval.recheck).

The re-check brackets each query it adds to a file between two marker
commands, `Locate <marker>.`, whose answer is `No object of basename
<marker>`; a marker carries a random nonce drawn for that compile, so no
proof can print one. Only the text between a query's two markers is read, and
each marker must appear exactly once: text a proof printed (`idtac "Closed
under the global context"`) is never part of an answer.

One parser for each answer: `Print Assumptions` (which names it lists, which
definitions it reports accepted with a kernel check off), `Locate` (which
objects a name resolves to), `Print Libraries` and `Print LoadPath`.

A name is located by a locator, an abbreviation defined at the top of the file
whose every use (`Check LOCATOR.`) runs Ltac2 code printing what the name,
given as strings, resolves to there, one `Locate` line an object: `Locate
rem.` would be a syntax error where the file's notations made `rem` a
keyword (`Infix "rem" := ...`). In a file of Coq.Init, compiled without the
prelude Ltac2 needs, it is plain `Locate NAME.`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class AnswerError(ValueError):
    """coqc's output lacks a query's answer, or holds one this module cannot read."""


def marker_command(marker: str) -> str:
    return f"Locate {marker}.\n"


LOCATOR_LIBRARIES = "From Ltac2 Require Init Std Env Ident Option Message List.\n"

# Env.expand lists what Locate lists (less abbreviations), in its order: first what the name denotes there
_LOCATOR_CODE = """Ltac2.List.iter (fun r => Ltac2.Message.print (Ltac2.Message.concat (Ltac2.Message.of_string
  (match r with Ltac2.Std.VarRef _ => "Variable " | Ltac2.Std.ConstRef _ => "Constant "
   | Ltac2.Std.IndRef _ => "Inductive " | Ltac2.Std.ConstructRef _ => "Constructor " end))
  (match Ltac2.Env.path r with [] => Ltac2.Message.of_string "" | first :: rest => Ltac2.List.fold_left
   (fun m i => Ltac2.Message.concat m (Ltac2.Message.concat (Ltac2.Message.of_string ".") (Ltac2.Message.of_ident i)))
   rest (Ltac2.Message.of_ident first) end)))
  (Ltac2.Env.expand (Ltac2.List.map (fun s => Ltac2.Option.get (Ltac2.Ident.of_string s)) [SEGMENTS]))"""


def locator_definition(locator: str, name: str) -> str:
    """The abbreviation `locator`: each `Check` of it prints what `name` resolves to where it is checked.

    Its code is read where it is defined, so nothing the file declares after it (a proof's own
    `Ltac2 Notation`, a module named Ltac2) changes what it runs; the name's segments are Coq strings."""
    segments = "; ".join('"' + segment.replace('"', '""') + '"' for segment in name.split("."))
    code = _LOCATOR_CODE.replace("SEGMENTS", segments)
    return (f"Notation {locator} := (ltac2:({code}; Ltac2.Control.refine (fun () => '(Coq.Init.Logic.I))) : "
            "Coq.Init.Logic.True) (only parsing).\n")


def locate_command(name: str, locator: str | None) -> str:
    """The query whose answer parse_locate reads: a use of `locator`, or (None) plain `Locate name`."""
    return f"Check {locator}.\n" if locator else f"Locate {name}.\n"


def _marker_answer(marker: str) -> str:
    return f"No object of basename {marker}"


def between(output: str, begin: str, end: str) -> str:
    """The text coqc printed between the answers of the markers `begin` and `end` (each exactly once)."""
    spans = []
    for marker in (begin, end):
        answer = _marker_answer(marker)
        found = [m.start() for m in re.finditer(rf"^{re.escape(answer)}$", output, re.MULTILINE)]
        if len(found) != 1:
            raise AnswerError(f"the marker {marker} is printed {len(found)} times")
        spans.append((found[0], found[0] + len(answer)))
    if spans[0][1] > spans[1][0]:
        raise AnswerError(f"the markers {begin} and {end} are printed out of order")
    return output[spans[0][1]:spans[1][0]].strip("\n")


@dataclass(frozen=True)
class Assumptions:
    """`Print Assumptions NAME`, read: what it lists, and what it reports as unsafe."""

    closed: bool  # "Closed under the global context"
    names: tuple[str, ...] = ()  # every section variable, axiom and parameter listed, in order
    unsafe: tuple[str, ...] = ()  # definitions accepted with a kernel check off, a collapsed or impredicative theory


_SECTIONS = ("Section Variables:", "Axioms:", "Theory:")
# what Print Assumptions says of a definition checked with guard, positivity or universe checking off
_UNSAFE = re.compile(r"^\S+ (?:relies on an unsafe hierarchy|is assumed to be guarded|is assumed to be positive)\.$")
_LISTED = re.compile(r"^([^\W\d][\w'.]*)(?:@\{[^}]*\})?(?:\s*:.*)?$")


def parse_assumptions(text: str) -> Assumptions:
    """Print Assumptions' answer. Names start at column 0 (`name : type`, or `name` with its type on
    the next lines, indented or starting with `:`); anything else at column 0 is unreadable."""
    text = text.strip()
    if text == "Closed under the global context":
        return Assumptions(True)
    lines = text.splitlines()
    if not lines or lines[0] not in _SECTIONS:
        raise AnswerError(f"Print Assumptions' answer starts with {lines[0][:80] if lines else 'nothing'!r}")
    names: list[str] = []
    unsafe: list[str] = []
    section = ""
    for line in lines:
        if line in _SECTIONS:
            section = line
        elif not line.strip() or line[0].isspace() or line.startswith(":"):
            continue  # a type's continuation
        elif section == "Theory:" or _UNSAFE.match(line):
            unsafe.append(line.strip())
        elif (listed := _LISTED.match(line)) is not None:
            names.append(listed.group(1))
        else:
            raise AnswerError(f"cannot read this line of Print Assumptions' answer: {line[:120]!r}")
    return Assumptions(False, tuple(names), tuple(unsafe))


@dataclass(frozen=True)
class Located:
    kind: str  # Constant, Variable (a section variable), Inductive, Constructor, ...
    name: str  # qualified (a section variable: its own name)


_LOCATED = re.compile(r"^(Constant|Variable|Inductive|Constructor|Notation|Module|Module Type|Ltac|Ltac2|Section)\s+(\S+)")


def parse_locate(text: str) -> tuple[Located, ...]:
    """`Locate NAME`'s answer: every object it lists, the one NAME refers to first (none: nothing)."""
    found = []
    for line in text.splitlines():
        match = _LOCATED.match(line)
        if match:
            found.append(Located(match.group(1), match.group(2)))
    return tuple(found)


def parse_libraries(text: str) -> tuple[str, ...]:
    """`Print Libraries.`: the loaded libraries' logical names."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("Loaded library files:"):
        raise AnswerError(f"Print Libraries' answer starts with {lines[0][:80] if lines else 'nothing'!r}")
    return tuple(line.strip() for line in lines[1:] if line.strip())


def parse_load_path(text: str) -> tuple[tuple[str, str], ...]:
    """`Print LoadPath.`: (logical name, folder) pairs; the empty logical name is printed `<>`."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("Logical Path"):
        raise AnswerError(f"Print LoadPath's answer starts with {lines[0][:80] if lines else 'nothing'!r}")
    pairs: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line.strip():
            continue
        if line[0].isspace() and pairs and not pairs[-1][1]:  # a long logical name puts its folder below
            pairs[-1] = (pairs[-1][0], line.strip())
            continue
        logical, _, folder = line.partition(" ")
        pairs.append(("" if logical == "<>" else logical, folder.strip()))
    return tuple(pairs)
