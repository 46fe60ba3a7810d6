"""Replaying one library file through Coq: its declarations, its imports and its traced proofs.

Every sentence of the file is added to a `CoqDocument` (one coqidetop per
file, started as that file's own module, e.g. `-top Coq.Arith.PeanoNat`, so
names come out qualified exactly as in the compiled library). After each one:

- declarations are what Coq reports ("x is defined"), qualified with `About`;
  an inductive's constructors come from `Show Match`; a proof's constant is
  named by its opening sentence and qualified once the proof is closed;
- inside a proof, every tactic sentence is recorded with the goals before and
  after it as Coq prints them (the same text `CoqSession` gives a prover) and
  the global constants it names, resolved in that state as a term would
  resolve them (`CoqDocument.locate`);
- a `Require` is resolved against `Print Libraries` to the files it loads.

At the end, constants that no sentence announced but a module received
(`Include`, functor application) are listed with `Search _ inside M` and
placed at the sentence after which Coq could first see them (asked at
earlier states); declarations made inside sections get their final,
discharged statement.

A sentence Coq refuses is recorded and skipped; a proof whose tactic fails is
recorded, skipped and closed with `Admitted` so that the rest of the file still
replays. A declaration closed with `Admitted` (by the file or by the tracer)
is a premise marked `"admitted": true`. The result is one JSON-ready record
per file.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from proofsmith.checker.backend import SessionCrashed
from proofsmith.checker.coq.document import CoqDocument, Step, declared_names
from proofsmith.checker.coq.process import CoqTimeout
from proofsmith.checker.coq.protocol import CoqGoals, goals_text
from proofsmith.checker.coq.sentences import CoqSyntaxError, Sentence, leading_word, split_sentences
from proofsmith.checker.settings import CheckerSettings
from proofsmith.data_synth.trace import vernacular
from proofsmith.data_synth.trace.libraries import LibraryFile
from proofsmith.data_synth.trace.tactics import argument_names, normalize

PREMISE_KINDS = frozenset({"Constant", "Inductive", "Constructor"})
NAMESPACE_CHANGERS = frozenset({"Require", "From", "Import", "Export", "Module", "End", "Include", "Declare", "Section"})
_BULK_INTRODUCERS = frozenset({"Include", "Module", "Declare", "End"})
_SCHEME_SUFFIX = re.compile(r"^(.*)_(rect|ind|rec|sind)$")
_OBLIGATION = re.compile(r"_obligation_\d+$")
PRELUDE = "Coq.Init.Prelude"


@dataclass(frozen=True)
class TraceOptions:
    sentence_timeout_s: float = 300.0
    file_timeout_s: float = 3600.0
    max_errors: int = 200  # a file failing this often is not worth replaying further


class _Positions:
    """Offsets into the file to LeanDojo positions: [line, column], both from 1, end exclusive."""

    def __init__(self, text: str):
        self._starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def __call__(self, offset: int) -> list[int]:
        line = bisect.bisect_right(self._starts, offset) - 1
        return [line + 1, offset - self._starts[line] + 1]


@dataclass
class _Scope:
    kind: str  # "section", "module", "module type"
    name: str
    opened_at: int  # sentence index


@dataclass
class _Proof:
    keyword: str
    name: str | None
    opened_at: int  # sentence index of the declaration
    offset: int  # where the declaration starts in the file
    statement: str
    state: str  # the goals now, as text (the next tactic's state_before)
    tactics: list[dict] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    error: str = ""  # set when a step failed: the rest of the proof is skipped


class FileTracer:
    def __init__(
        self,
        file: LibraryFile,
        settings: CheckerSettings,
        coq_args: list[str],
        modules: dict[str, str],
        options: TraceOptions | None = None,
        stop: threading.Event | None = None,
    ):
        self.file = file
        self.settings = settings
        self.coq_args = coq_args
        self.modules = modules  # logical module name -> corpus path, over every traced library
        self.options = options or TraceOptions()
        self._stop = stop or threading.Event()
        self.premises: list[dict] = []
        self._premise_index: dict[str, int] = {}
        self._in_section: set[str] = set()  # premises whose statement changes when their section closes
        self._renamed: dict[str, str] = {}  # names Coq gave inside a section -> names after it
        self.theorems: list[dict] = []
        self.imports: list[str] = []
        self.failures: list[dict] = []
        self.counts = {"sentences": 0, "proofs": 0, "admitted": 0, "aborted": 0, "unnamed_proofs": 0, "failed_proofs": 0}
        self._scopes: list[_Scope] = []
        self._closed_modules: list[tuple[str, int, int]] = []  # (qualified module, first, last sentence)
        self._introducers: dict[tuple[int, int], list[int]] = {}
        self._states: list[int | None] = []
        self._locate_cache: dict[str, tuple[str, str] | None] = {}
        self._loaded: list[str] = []

    # ------------------------------------------------------------ entry point

    def run(self) -> dict[str, Any]:
        t0, cpu0 = time.monotonic(), time.thread_time()
        coq_cpu = 0.0
        record: dict[str, Any] = {
            "path": self.file.path,
            "module": self.file.module,
            "library": self.file.library.name,
        }
        text = self.file.source.read_text(encoding="utf-8", errors="replace")
        record["sha256"] = hashlib.sha256(text.encode()).hexdigest()
        status = "ok"
        try:
            sentences = split_sentences(text)
        except CoqSyntaxError as exc:
            sentences = []
            self._fail(None, "syntax", f"cannot split into sentences: {exc}")
            status = "failed"
        if sentences:
            self._pos = _Positions(text)
            args = [*self.coq_args, "-top", self.file.module] + (["-noinit"] if self.file.noinit else [])
            try:
                with CoqDocument(self.settings, args) as doc:
                    self._doc = doc
                    try:
                        status = self._replay(sentences, t0)
                    finally:
                        coq_cpu = doc.cpu_seconds()
            except (SessionCrashed, CoqTimeout) as exc:  # a query Coq did not answer in time included
                self._fail(None, "crash", str(exc))
                status = "failed"
        if status == "interrupted":
            return {"path": self.file.path, "interrupted": True}
        if status == "ok" and self.failures:
            status = "partial"
        for theorem in self.theorems:  # the statement as Coq prints it, discharged
            index = self._premise_index.get(theorem["full_name"])
            theorem["type"] = self.premises[index]["code"].split(" : ", 1)[1] if index is not None else ""
        self.premises.sort(key=lambda p: (p["start"], p["end"]))
        record.update(
            status=status,
            imports=self.imports,
            premises=self.premises,
            theorems=self.theorems,
            failures=self.failures,
            counts=self.counts | {"sentences": len(sentences)},
            time_s=round(time.monotonic() - t0, 3),
            cpu_s=round(time.thread_time() - cpu0 + coq_cpu, 3),
        )
        return record

    def _fail(self, sentence: Sentence | None, reason: str, message: str, theorem: str | None = None) -> None:
        entry: dict[str, Any] = {"reason": reason, "message": message[:2000]}
        if sentence is not None:
            entry["start"] = self._pos(sentence.start)
            entry["sentence"] = sentence.text[:200]
        if theorem:
            entry["theorem"] = theorem
        self.failures.append(entry)

    # ------------------------------------------------------------ replay

    def _replay(self, sentences: list[Sentence], t0: float) -> str:
        doc = self._doc
        self._sentences = sentences
        self._loaded = doc.loaded_libraries()
        if not self.file.noinit:
            self._add_import(PRELUDE, [])
        proof: _Proof | None = None
        goals: CoqGoals | None = None
        skipping_block = False  # a failed declaration: skip its proof script
        for i, s in enumerate(sentences):
            self._states.append(None)
            if self._stop.is_set():
                return "interrupted"
            if time.monotonic() - t0 > self.options.file_timeout_s:
                self._fail(s, "file_timeout", f"file not finished in {self.options.file_timeout_s:g} s")
                return "failed"
            if len(self.failures) >= self.options.max_errors:
                self._fail(s, "too_many_errors", f"gave up after {len(self.failures)} failures")
                return "failed"
            word = leading_word(s.text)
            if skipping_block:
                if vernacular.closer(s.text):
                    skipping_block = False
                continue
            if proof is not None and proof.error:
                if vernacular.closer(s.text) is None:
                    continue
                s_closing = "Admitted."  # close the failed proof so that later sentences still replay
                step = doc.add(s_closing, self.options.sentence_timeout_s)
                if not step.ok:
                    self._fail(s, "error", f"cannot close the failed proof: {step.error}")
                    return "failed"
                self._states[i] = step.state
                self._close_proof(proof, s, "Admitted", failed=True)
                proof, goals = None, step.goals
                continue

            step = doc.add(s.text, self.options.sentence_timeout_s)
            if not step.ok:
                reason = "timeout" if step.timed_out else "error"
                if proof is not None:
                    proof.error = step.error
                    self._fail(s, "tactic_" + reason, step.error, theorem=proof.name)
                else:
                    self._fail(s, reason, step.error)
                    decl = vernacular.declaration(s.text)
                    following = sentences[i + 1].text if i + 1 < len(sentences) else ""
                    if decl is not None and leading_word(following) == "Proof" and vernacular.closer(following) != "Proof":
                        skipping_block = True
                continue
            self._states[i] = step.state

            if word in NAMESPACE_CHANGERS:
                self._locate_cache.clear()
            self._track_scopes(s, step, i)
            if word in ("Require", "From"):
                self._record_requires(s)

            if proof is None and step.goals is not None:
                proof = self._open_proof(s, i, step.goals)
            elif proof is not None and step.goals is not None:
                proof.script.append(s.text)
                after = goals_text(step.goals)
                if vernacular.is_tactic(s.text, s.kind) and goals is not None:
                    self._record_tactic(proof, s, goals, step.goals, after)
                proof.state = after
            elif proof is not None and step.goals is None:
                self._close_proof(proof, s, vernacular.closer(s.text) or "")
                proof = None
            self._record_declarations(step, s)
            goals = step.goals

        if proof is not None:
            self._fail(None, "error", "the file ends inside a proof", theorem=proof.name)
        self._add_module_contents()
        for t in self.theorems:  # tactics used names Coq gave inside sections
            for step in t["traced_tactics"]:
                for use in step["premises"]:
                    use["full_name"] = self._renamed.get(use["full_name"], use["full_name"])
        return "ok"

    # ------------------------------------------------------------ scopes and imports

    def _track_scopes(self, s: Sentence, step: Step, index: int) -> None:
        for info in step.infos():
            m = re.match(r"Interactive Module (Type )?(\S+) started", info)
            if m:
                self._scopes.append(_Scope("module type" if m.group(1) else "module", m.group(2), index))
                return
        section = vernacular.section_name(s.text)
        if section is not None:
            self._scopes.append(_Scope("section", section, index))
            return
        ended = vernacular.end_name(s.text)
        if ended is not None and self._scopes and self._scopes[-1].name == ended:
            if self._scopes[-1].kind == "section":
                self._close_section()
                return
            scope = self._scopes.pop()
            if scope.kind == "module" and not self._scopes:
                self._closed_modules.append((f"{self.file.module}.{ended}", scope.opened_at, index))
            return
        if not self._scopes:
            for info in step.infos():  # `Module M := F X.` at top level
                m = re.match(r"Module (\S+) is defined", info)
                if m:
                    self._closed_modules.append((f"{self.file.module}.{m.group(1)}", index, index))

    def _scope_path(self) -> str:
        """The prefix Coq gives names declared here: the file's module, then modules and sections."""
        return ".".join([self.file.module, *(scope.name for scope in self._scopes)])

    def _close_section(self) -> None:
        """Names declared in the section lose its component; statements are final once no section is open."""
        old = self._scope_path() + "."
        self._scopes.pop()
        new = self._scope_path() + "."
        renames = {
            p["full_name"]: new + p["full_name"][len(old):]
            for p in self.premises
            if p["full_name"].startswith(old) and "." not in p["full_name"][len(old):]
        }
        for p in self.premises:
            p["full_name"] = renames.get(p["full_name"], p["full_name"])
        for t in self.theorems:
            t["full_name"] = renames.get(t["full_name"], t["full_name"])
        self._premise_index = {renames.get(k, k): v for k, v in self._premise_index.items()}
        self._in_section = {renames.get(k, k) for k in self._in_section}
        self._renamed = {k: renames.get(v, v) for k, v in self._renamed.items()} | renames
        if not any(scope.kind == "section" for scope in self._scopes):
            for full_name in sorted(self._in_section):
                about = self._doc.about(full_name)
                if about is not None:
                    self.premises[self._premise_index[full_name]]["code"] = f"{full_name.rsplit('.', 1)[-1]} : {about.type}"
            self._in_section.clear()

    def _record_requires(self, s: Sentence) -> None:
        req = vernacular.requirement(s.text)
        if req is None:
            return
        loaded = self._doc.loaded_libraries()
        new = [lib for lib in loaded if lib not in set(self._loaded)]
        self._loaded = loaded
        for name in req.names:
            matches = [lib for lib in loaded if req.matches(name, lib)]
            fresh = [lib for lib in matches if lib in new]
            if matches:
                self._add_import((fresh or matches)[0], new)

    def _add_import(self, library: str, newly_loaded: list[str]) -> None:
        """Import `library`'s file; for a library outside the traced ones, the traced files it loaded."""
        targets = [library] if library in self.modules else [lib for lib in newly_loaded if lib in self.modules]
        for lib in targets:
            path = self.modules[lib]
            if path not in self.imports and path != self.file.path:
                self.imports.append(path)

    # ------------------------------------------------------------ declarations

    def _add_premise(self, full_name: str, kind: str, type_: str, start: list[int], end: list[int]) -> None:
        if full_name in self._premise_index:
            return
        self._premise_index[full_name] = len(self.premises)
        if any(scope.kind == "section" for scope in self._scopes):
            self._in_section.add(full_name)
        short = full_name.rsplit(".", 1)[-1]
        self.premises.append({"full_name": full_name, "code": f"{short} : {type_}", "start": start, "end": end, "kind": kind})
        self._forget(short)

    def _forget(self, short: str) -> None:
        """A new declaration may shadow what a name meant: drop cached resolutions of it."""
        for key in [k for k in self._locate_cache if k.rsplit(".", 1)[-1] == short]:
            del self._locate_cache[key]

    def _record_declarations(self, step: Step, s: Sentence) -> None:
        names = declared_names(step)
        if not names:
            return
        decl = vernacular.declaration(s.text)
        keyword = decl.keyword if decl else ""
        start, end = self._pos(s.start), self._pos(s.end)
        announced = set(names)
        for name in names:
            about = self._doc.about(name)
            if about is None or about.kind not in PREMISE_KINDS or about.name in self._premise_index:
                continue
            scheme = _SCHEME_SUFFIX.match(name)
            if scheme and scheme.group(1) in announced:
                kind = "Scheme"
            elif _OBLIGATION.search(name):
                kind = "Obligation"
            elif about.kind == "Inductive":
                kind = keyword if keyword in vernacular.INDUCTIVE_KEYWORDS else "Inductive"
            elif keyword in vernacular.INDUCTIVE_KEYWORDS:
                kind = "Projection"
            else:
                kind = keyword or ("Lemma" if about.opaque else "Definition")
            self._add_premise(about.name, kind, about.type, start, end)
            if about.kind == "Inductive":
                prefix = about.name.rsplit(".", 1)[0]
                for constructor in self._doc.constructors(about.name):
                    c = self._doc.about(f"{prefix}.{constructor}")
                    if c is not None and c.kind == "Constructor":
                        self._add_premise(c.name, "Constructor", c.type, start, end)

    # ------------------------------------------------------------ proofs

    def _open_proof(self, s: Sentence, index: int, goals: CoqGoals) -> _Proof:
        decl = vernacular.declaration(s.text)
        self.counts["proofs"] += 1
        return _Proof(
            keyword=decl.keyword if decl else leading_word(s.text),
            name=decl.name if decl else None,
            opened_at=index,
            offset=s.start,
            statement=normalize(s.text),
            state=goals_text(goals),
        )

    def _record_tactic(self, proof: _Proof, s: Sentence, before: CoqGoals, after: CoqGoals, after_text: str) -> None:
        tactic = normalize(s.text)
        local = {n for g in (*before.foreground, *after.foreground) for h in g.hypotheses for n in h.names}
        uses = []
        for use in argument_names(tactic):
            if use.name in local:
                continue
            resolved = self._locate(use.name)
            if resolved is not None and resolved[0] in PREMISE_KINDS:
                uses.append({"full_name": resolved[1], "start": use.start, "end": use.end})
        proof.tactics.append(
            {"tactic": tactic, "state_before": proof.state, "state_after": after_text, "premises": uses}
        )

    def _locate(self, name: str) -> tuple[str, str] | None:
        if name not in self._locate_cache:
            self._locate_cache[name] = self._doc.locate(name)
        return self._locate_cache[name]

    def _close_proof(self, proof: _Proof, s: Sentence, how: str, failed: bool = False) -> None:
        if how == "Abort":
            self.counts["aborted"] += 1
            return
        if how == "Admitted":
            self.counts["failed_proofs" if failed else "admitted"] += 1
        if proof.name is None:
            self.counts["unnamed_proofs"] += 1
            return
        start, end = self._pos(proof.offset), self._pos(s.end)
        about = self._doc.about(proof.name)
        if about is not None and about.kind in PREMISE_KINDS:
            full_name, type_ = about.name, about.type
            self._add_premise(full_name, proof.keyword, type_, start, end)
            if how == "Admitted":  # assumed, not proved: retrieval leaves it out unless asked
                self.premises[self._premise_index[full_name]]["admitted"] = True
        else:  # inside a module type: a proof, but no global constant
            full_name, type_ = f"{self._scope_path()}.{proof.name}", ""
        if how in vernacular.SUCCESSFUL_CLOSERS and proof.tactics:
            self.theorems.append(
                {
                    "full_name": full_name,
                    "kind": proof.keyword,
                    "start": start,
                    "end": end,
                    "statement": proof.statement,
                    "proof": "\n".join(normalize(t) for t in proof.script),
                    "traced_tactics": proof.tactics,
                }
            )

    # ------------------------------------------------------------ end of file

    def _add_module_contents(self) -> None:
        """Constants a closed module got without a sentence announcing them (Include, functor application)."""
        prefix = self.file.module + "."
        for module, first, last in self._closed_modules:
            for printed, _ in self._doc.search_inside(module):
                if prefix + printed in self._premise_index:
                    continue  # Search prints names relative to this file's module: already known
                about = self._doc.about(printed)
                if (
                    about is None
                    or about.kind not in PREMISE_KINDS
                    or about.name in self._premise_index
                    or not about.name.startswith(prefix)
                ):
                    continue
                s = self._sentences[self._first_visible(about.name, first, last)]
                kind = about.kind
                if kind == "Constant":  # an included constant is transparent whatever it was: ask its sort
                    kind = "Lemma" if self._doc.sort_of(about.name) == "Prop" else "Definition"
                self._add_premise(about.name, kind, about.type, self._pos(s.start), self._pos(s.end))

    def _first_visible(self, full_name: str, first: int, last: int) -> int:
        """The sentence of [first, last] after which Coq could first see `full_name`.

        Only sentences that bring in a module's contents wholesale are asked
        about (Include, module definitions, module ends); names only accumulate,
        so the first one that sees it is found by bisection.
        """
        candidates = self._introducers.get((first, last))
        if candidates is None:
            candidates = self._introducers[(first, last)] = [
                i
                for i in range(first, last + 1)
                if self._states[i] is not None
                and (i == last or leading_word(self._sentences[i].text) in _BULK_INTRODUCERS)
            ]
        lo, hi = 0, len(candidates) - 1
        if hi < 0:
            return last
        while lo < hi:
            mid = (lo + hi) // 2
            if self._doc.locate(full_name, at=self._states[candidates[mid]]) is not None:
                hi = mid
            else:
                lo = mid + 1
        return candidates[lo]
