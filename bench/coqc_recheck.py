"""One proof re-checked by plain `coqc`, outside every proofsmith session (for the bench scripts).

    from coqc_recheck import Recheck, recheck
    recheck(name, proof, prelude=..., header=..., statement=...)   # a statement under a header
    recheck(name, proof, place={"project": ..., "file": ..., "line": ...})  # a library theorem in its file

Each proof is its own `.v` file compiled by `coqc`:
- a statement with a header: tactic prelude + header + statement + `Proof.` proof `Qed.`
  + `Print Assumptions`;
- a library theorem in its file context: the file's own text up to the statement (from the
  installed stdlib or the project), the statement, the proof, `Print Assumptions`, then `End`
  for every section and module still open, compiled as that file's module (its -Q/-R/-top).

A proof passes when coqc accepts the file, it admits nothing, and every axiom `Print
Assumptions` lists resolves (`Locate`, in the same place of the same file) to Coq's standard
library (`Coq.*`) or is one the header declares. Section variables are the theorem's own
hypotheses, not axioms. No ATP is involved: a hammer proof is its reconstruction tactic.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from proofsmith.checker import child_process

_ADMIT = re.compile(r"\b(admit|Admitted|give_up)\b")
HEADER_AXIOMS = re.compile(
    r"\b(?:Axiom|Axioms|Parameter|Parameters|Conjecture|Hypothesis|Hypotheses|Variable|Variables)\s+([^:.]+):"
)
HEADER_MODULE = "ProofsmithVerify"
# Print Assumptions' lines for definitions accepted with a kernel check off (guard, positivity, universes)
_UNSAFE = re.compile(r"is assumed to be (?:guarded|positive)|relies on an unsafe hierarchy|Type hierarchy")
_ERROR_LINE = re.compile(r'File "[^"]*", line (\d+), characters [\d-]+:\s*Error')


@dataclass(frozen=True)
class Recheck:
    ok: bool
    note: str
    axioms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CoqFile:
    """A `.v` text in two parts (the end closes sections and modules), its coqc arguments and module name."""

    body: str
    end: str
    args: tuple[str, ...]
    stem: str
    parameters: frozenset[str] = frozenset()
    # the file's own module (Coq.Logic.Classical_Prop): Locate names its constants from the last part
    module: str = ""

    def qualified(self, located: str) -> str:
        if self.module and located.split(".", 1)[0] == self.module.rsplit(".", 1)[-1]:
            return self.module.rsplit(".", 1)[0] + "." + located if "." in self.module else located
        return located

    def failed_in_end(self, done: subprocess.CompletedProcess, extra: str = "") -> bool:
        """Whether coqc's error is in the closing `End`s, after the proof and Print Assumptions went
        through: a module with a signature (`Module Pos <: T.`) cut at the theorem lacks the fields
        declared after it, which says nothing about the proof."""
        where = _ERROR_LINE.search(done.stderr + done.stdout)
        return bool(self.end) and where is not None and int(where.group(1)) > (self.body + extra).count("\n")

    def compile(self, extra: str = "", timeout_s: float = 600.0) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory(prefix="proofsmith-recheck-") as tmp:
            # in its own directory: coqc writes .vo/.glob files and lia a cache there
            path = Path(tmp) / f"{re.sub(r'[^A-Za-z0-9_]', '_', self.stem)}.v"
            path.write_text(self.body + extra + self.end, encoding="utf-8")
            # coqc dies with the bench (child_process), even when the bench is killed
            return child_process.run(["coqc", "-q", *self.args, path.name], cwd=tmp, text=True, timeout_s=timeout_s)


def header_file(name: str, proof: str, prelude: str, header: str, statement: str) -> CoqFile:
    body = proof.strip()
    if not body.startswith("Proof"):
        body = f"Proof.\n{body}\nQed."
    return CoqFile(f"{prelude}\n{header}\n{statement}\n{body}\nPrint Assumptions {name}.\n", "", (), HEADER_MODULE)


def in_context_file(name: str, proof: str, place: dict) -> CoqFile:
    """The theorem's file up to its statement, then the proof, compiled as the file's own module."""
    from proofsmith.checker.coq.file_context import _END, _SECTION_OPEN, _opened_module, file_script
    from proofsmith.checker.coq.sentences import strip_comments
    from proofsmith.checker.types import Place

    script = file_script(Place(place["project"], place["file"], place.get("line")))
    decl = script.find(name, place.get("line"))
    text = script.file.source.read_text(encoding="utf-8")
    statement = script.sentences[decl.index]
    stack: list[str] = []
    for sentence in script.sentences[: decl.index]:
        body = strip_comments(sentence.text).strip()
        opened = _opened_module(body) or _SECTION_OPEN.match(body)
        if opened:  # (`Module M := N.` defines a module and opens none: _opened_module says so)
            stack.append(opened.group(1))
            continue
        end = _END.match(body)
        if end and stack and stack[-1] == end.group(1):
            stack.pop()
    short = decl.name.rsplit(".", 1)[-1]
    source = text[: statement.start] + statement.text + f"\nProof.\n{proof}\nQed.\nPrint Assumptions {short}.\n"
    return CoqFile(source, "".join(f"End {m}.\n" for m in reversed(stack)), tuple(script.file.coq_args),
                   script.file.module.rsplit(".", 1)[-1], script.module_parameters(decl.index), script.file.module)


def listed_axioms(output: str) -> list[str] | None:
    """The names `Print Assumptions` lists under "Axioms:" ([] when closed); None if it printed nothing."""
    if "Closed under the global context" in output:
        return []
    if "Axioms:" not in output:
        return [] if "Section Variables:" in output else None
    body = output.split("Axioms:", 1)[1]
    # each axiom starts at column 0 ("name : type" or "name" then an indented type)
    return [line.split(" :", 1)[0].strip() for line in body.splitlines() if line and not line[0].isspace()]


_MARKER = "proofsmith_recheck_marker"


def locate_sentences(names: list[str]) -> str:
    """`Locate` each name, a Locate of a name that exists nowhere after each (its answer separates them)."""
    return "".join(f"Locate {n}.\nLocate {_MARKER}.\n" for n in names)


def located_names(output: str) -> list[str | None]:
    """What each `Locate` of `locate_sentences` resolved to: the first object it lists (None: nothing)."""
    chunks = output.split(f"No object of basename {_MARKER}")[:-1]
    names: list[str | None] = []
    for chunk in chunks:
        found = re.search(r"^(?:Constant|Inductive|Constructor)\s+(\S+)", chunk, re.MULTILINE)
        names.append(found.group(1) if found else None)
    return names


def recheck(name: str, proof: str, *, place: dict | None = None, prelude: str = "", header: str = "",
            statement: str = "", timeout_s: float = 600.0, header_axioms: bool = True) -> Recheck:
    """`header_axioms=False`: an axiom the header declares fails too (a mutant's header is its
    library file's imports, so it declares none a proof should lean on)."""
    if _ADMIT.search(proof):
        return Recheck(False, "the proof admits")
    try:
        coq_file = in_context_file(name, proof, place) if place else header_file(name, proof, prelude, header,
                                                                                  statement)
    except (ValueError, OSError) as exc:
        return Recheck(False, f"cannot rebuild the file: {exc}")
    try:
        done = coq_file.compile(timeout_s=timeout_s)
    except subprocess.TimeoutExpired:
        return Recheck(False, f"coqc did not finish in {timeout_s:g} s")
    if done.returncode != 0 and not coq_file.failed_in_end(done):
        return Recheck(False, "coqc rejected it: " + " ".join((done.stderr or done.stdout).split())[-300:])
    unsafe = [line.strip() for line in done.stdout.splitlines() if _UNSAFE.search(line)]
    if unsafe:  # a fixpoint or inductive checked with a kernel check turned off
        return Recheck(False, "Print Assumptions reports unsafe definitions: " + "; ".join(unsafe)[:300])
    axioms = listed_axioms(done.stdout)
    if axioms is None:
        return Recheck(False, "no Print Assumptions output")
    if not axioms:
        return Recheck(True, "closed under the global context")
    declared = {n for group in HEADER_AXIOMS.findall(header) for n in group.split()} if header_axioms else set()
    # Locate right after Print Assumptions, where the short names it printed are relative to
    extra = locate_sentences(axioms)
    locate = coq_file.compile(extra, timeout_s)
    located = [coq_file.qualified(n) if n else n for n in located_names(locate.stdout)]
    if (locate.returncode != 0 and not coq_file.failed_in_end(locate, extra)) or len(located) != len(axioms) \
            or None in located:
        return Recheck(False, f"cannot resolve axioms {axioms}: {locate.stdout[-200:]}", axioms)
    # a functor's parameters (`Module F (M : T).`) are the theorem's hypotheses, as the checker holds
    parameters = coq_file.parameters
    bad = [q for a, q in zip(axioms, located)
           if not q.startswith("Coq.") and a not in declared and q.split(".", 1)[0] not in parameters]
    if bad:
        return Recheck(False, "depends on axioms outside Coq's standard library: " + ", ".join(bad), located)
    return Recheck(True, "axioms: " + ", ".join(located), located)
