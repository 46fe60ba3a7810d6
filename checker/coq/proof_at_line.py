"""The proof that contains a given line of a project file, and its sentences up to that line.

What an editor asks for: "the proof my cursor is in, run up to here". The
proof of a theorem runs from its statement to the first `Qed.`, `Defined.`,
`Admitted.`, `Abort.` or `Save` after it; the line may be anywhere from the
statement's first line to that closing sentence's last line. The sentences
"up to line N" are the proof's sentences that end on line N or before, less
the `Proof.` opener (and less the closing sentence). Pure text work on
checker.coq.file_context's FileScript; opening the theorem is the session's.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from proofsmith.checker.coq.file_context import ContextError, FileScript, file_script
from proofsmith.checker.coq.sentences import SentenceKind, strip_comments
from proofsmith.checker.types import Place, Theorem

_CLOSER = re.compile(r"^(?:Qed|Defined|Admitted|Abort|Save)\b")
_OPENER = re.compile(r"^Proof(?:\s+(?:using|with)\b.*)?\.$", re.S)


@dataclass(frozen=True)
class ProofSentence:
    text: str
    line: int  # where it starts, from 1
    end_line: int


@dataclass(frozen=True)
class ProofAtLine:
    theorem: Theorem  # in its own file context (Theorem.place)
    start_line: int  # the statement's first line
    end_line: int  # the closing sentence's last line (or the last proof sentence's when there is none)
    opener: str  # the proof's `Proof.` sentence as written ("Proof." when it has none)
    done: tuple[ProofSentence, ...]  # the proof's sentences up to the line, to run first
    closer: str  # the closing sentence as written ("" when the file ends first)


def _line(script: FileScript, offset: int) -> int:
    return bisect.bisect_right(script.line_starts, offset)


def proof_at_line(project: str, file: str, line: int) -> ProofAtLine:
    """The proof of `file` (in `project`, as checker.coq.file_context names them) that contains `line`."""
    script = file_script(Place(project, file))
    if line < 1 or line > len(script.line_starts):
        raise ContextError(f"{file}: line {line} is outside the file (it has {len(script.line_starts)} lines)")
    spans = []
    declarations = sorted(script.declarations, key=lambda d: d.index)
    for position, declaration in enumerate(declarations):
        limit = declarations[position + 1].index if position + 1 < len(declarations) else len(script.sentences)
        closer = None
        for index in range(declaration.index + 1, limit):
            sentence = script.sentences[index]
            if sentence.kind is SentenceKind.COMMAND and _CLOSER.match(strip_comments(sentence.text).strip()):
                closer = index
                break
        last = closer if closer is not None else max(declaration.index, limit - 1)
        end_line = _line(script, script.sentences[last].end - 1)
        spans.append((declaration, closer, end_line))
        if declaration.line <= line <= end_line:
            return _build(script, project, file, line, declaration, closer, end_line)
    nearest = sorted(spans, key=lambda s: min(abs(s[0].line - line), abs(s[2] - line)))[:3]
    listed = ", ".join(f"{d.name.rsplit('.', 1)[-1]} (lines {d.line}-{end})" for d, _, end in sorted(
        nearest, key=lambda s: s[0].line))
    raise ContextError(f"{file}: line {line} is not inside any proof"
                       + (f"; the nearest: {listed}" if listed else "; the file states no theorem"))


def _build(script: FileScript, project: str, file: str, line: int, declaration, closer, end_line) -> ProofAtLine:
    limit = closer if closer is not None else len(script.sentences)
    # a line's last character is just before the next line's start
    line_end = script.line_starts[line] if line < len(script.line_starts) else script.sentences[-1].end + 1
    opener = "Proof."
    done = []
    for index in range(declaration.index + 1, limit):
        sentence = script.sentences[index]
        if sentence.end > line_end:
            break
        body = strip_comments(sentence.text).strip()
        if index == declaration.index + 1 and sentence.kind is SentenceKind.COMMAND and _OPENER.match(body):
            opener = " ".join(body.split())
            continue
        done.append(ProofSentence(sentence.text.strip(), _line(script, sentence.start), _line(script, sentence.end - 1)))
    if declaration.index + 1 < limit:
        first = strip_comments(script.sentences[declaration.index + 1].text).strip()
        if _OPENER.match(first):
            opener = " ".join(first.split())
    theorem = Theorem(declaration.name, script.statement(declaration), place=Place(project, file, declaration.line))
    closer_text = strip_comments(script.sentences[closer].text).strip() if closer is not None else ""
    return ProofAtLine(theorem, declaration.line, end_line, opener, tuple(done), closer_text)
