"""What `suggest` learns from the user's own project, as Tactician users expect: its proofs and
its declarations.

The project is traced (data_synth.trace) into proofsmith's cache folder, one
folder per project; a rerun re-traces only the files whose text changed (the
file being edited, typically), so the cache follows the user's edits. From
the trace:

- a tactic memory (prover.tactic_memory) of every traced proof step of the
  project, the proof being written excepted (its later steps are what the
  user is asking for); the proofs above the line of the file being edited
  are in it, as are those of the files it requires. The other files' part is
  saved in the cache, keyed by their text, so only the edited file's proofs
  are embedded again at each call;
- a BM25 premise retriever over the project's declarations, each theorem
  seeing only what is accessible to it (earlier in its file, or in a file it
  requires).

It sits here, above prover/ and data_synth/, because it joins the two.

    knowledge = learn_project(Path("P"), exclude="Two.B.double_2")
    knowledge.memory, knowledge.retriever
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_TRACES = "project_trace"  # under proofsmith's cache folder


@dataclass(frozen=True)
class ProjectKnowledge:
    memory: object  # prover.tactic_memory.TacticMemory
    retriever: object | None  # retrieval.bm25.BM25Retriever over the project's declarations (None: none)
    trace_dir: Path
    theorems: int  # proofs in the memory
    steps: int
    traced_now: int  # files traced this time (the others were unchanged)


def trace_folder(project: Path) -> Path:
    from proofsmith.prover.model_store import cache_dir

    folder = project.resolve()
    return cache_dir() / PROJECT_TRACES / f"{folder.name}-{hashlib.sha256(str(folder).encode()).hexdigest()[:12]}"


def learn_project(project: Path, exclude: str | None = None, quiet: bool = False) -> ProjectKnowledge:
    """The tactic memory and premises of the project in folder `project` (its _CoqProject's -Q/-R
    folders), without the proof of `exclude` (a fully qualified theorem name)."""
    from proofsmith.checker.settings import CheckerSettings
    from proofsmith.cli.trace import libraries_of_projects
    from proofsmith.data_synth.trace.libraries import resolve
    from proofsmith.data_synth.trace.runner import RECORDS, read_records, trace

    specs, logical, extra = libraries_of_projects([str(project)], [], say=False)
    libraries = resolve(specs, logical)
    out = trace_folder(project)
    settings = CheckerSettings(workers=1).with_load_path(extra)
    run = trace(libraries, out, settings, workers=1, progress=False)
    if run.traced_now and not quiet:
        print(f"proofsmith suggest: learned from {project}: traced {run.traced_now} changed file(s) "
              f"({run.reused} unchanged) in {run.wall_s:.1f} s", file=sys.stderr)
    records = read_records(out / RECORDS)
    current = _file_of(records, exclude)
    memory = _other_files_memory(out, {path: r for path, r in records.items() if path != current})
    theorems, steps = len(memory.theorems()), len(memory)
    if current is not None:  # the file being edited changes between calls: its proofs are added each time
        for name, pairs in _proofs(records[current]):
            if name != exclude:
                memory.add_proof(name, pairs)
                theorems += 1
                steps += len(pairs)
    return ProjectKnowledge(memory, _premises(out), out, theorems, steps, run.traced_now)


def _proofs(record: dict):
    """(theorem, [(state before, tactic)]) of a traced file's proofs that have steps."""
    for theorem in record.get("theorems", []):
        pairs = [(t["state_before"], t["tactic"]) for t in theorem.get("traced_tactics", [])
                 if t.get("state_before", "").strip() and t.get("tactic", "").strip()]
        if pairs:
            yield theorem["full_name"], pairs


def _file_of(records: dict[str, dict], theorem: str | None) -> str | None:
    """The traced file that declares `theorem` (the longest module that qualifies its name)."""
    if theorem is None:
        return None
    owners = [(len(r.get("module", "")), path) for path, r in records.items()
              if theorem.startswith(str(r.get("module", "")) + ".")]
    return max(owners)[1] if owners else None


def _other_files_memory(trace_dir: Path, records: dict[str, dict]):
    """The memory of these files' proofs, read from the project's cache when they are unchanged
    (keyed by their text's hashes), else built and saved there."""
    from proofsmith.prover.tactic_memory import TacticMemory, TacticMemoryError

    key = hashlib.sha256("\n".join(f"{p}:{r.get('sha256')}" for p, r in sorted(records.items())).encode())
    folder = trace_dir / "memory" / key.hexdigest()[:20]
    if (folder / "meta.json").is_file():
        try:
            return TacticMemory.load(folder)
        except TacticMemoryError:
            pass  # a damaged entry is built again
    memory = TacticMemory(source={"trace": str(trace_dir), "files": len(records)})
    for record in records.values():
        for name, pairs in _proofs(record):
            memory.add_proof(name, pairs)
    memory.save(folder)
    for old in folder.parent.iterdir():  # entries of earlier versions of the files
        if old != folder and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return memory


def _premises(trace_dir: Path):
    from proofsmith.retrieval.bm25 import BM25Retriever
    from proofsmith.retrieval.corpus import Corpus, CorpusError

    try:
        corpus = Corpus.load(trace_dir / "corpus.jsonl")
    except CorpusError:
        return None
    return BM25Retriever(corpus) if len(corpus) else None
