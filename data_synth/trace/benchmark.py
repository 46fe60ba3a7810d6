"""Writing traced files as a LeanDojo Benchmark 4 directory, plus stats.json.

    corpus.jsonl                      one line per file: {path, imports, premises}
    random/{train,val,test}.json      lists of traced theorems
    novel_premises/{train,val,test}.json
    metadata.json, stats.json         metadata.json's `load_path`: the Coq flags that load the traced files

The schema is LeanDojo's (positions `[line, column]`, both counted from 1,
ends exclusive; a traced tactic's `annotated_tactic` marks each premise use
`<a>name</a>` and lists its provenance `{full_name, def_path, def_pos,
def_end_pos}`). Where Coq differs:

- premise `code` is the statement as Coq prints it, `name : type` (for a
  declaration made in a section, after the section is closed), not source
  text; `kind` is the keyword it was declared with (Lemma, Definition,
  Instance, Inductive, ...), Constructor/Projection/Scheme for what Coq
  generates, and Lemma/Definition (opaque or not) for constants a module got
  from `Include` or a functor application, placed at that sentence;
- a premise closed with `Admitted` (in the library, or by the tracer after
  its proof failed) carries `"admitted": true`; retrieval leaves it out
  unless asked (retrieval.corpus);
- `imports` are the files a file `Require`s (resolved by Coq), plus
  Coq.Init.Prelude, which every file but Coq's own Init files loads implicitly;
- full names are Coq's qualified names (`Coq.Arith.PeanoNat.Nat.add_comm`);
- tactic sentences keep their final period; bullets and braces are not
  traced tactics (LeanDojo drops `·` too), so `state_before` may show
  "(n more goals not in focus)";
- theorems carry extra fields a Coq pipeline needs: `kind`, `module` (the
  file's logical name, to `Require` it), `statement` (the declaring sentence),
  `type` (the statement as Coq prints it) and `proof` (every sentence between
  the statement and Qed, bullets included).

Only theorems with at least one traced tactic are listed (term-mode
definitions are premises, not theorems). A provenance is kept only when the
premise is in the corpus (a constant of an untraced library is not).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofsmith.data_synth.trace.libraries import CoqLibrary
from proofsmith.data_synth.trace.splits import SEED, eval_size, split_by_premise, split_randomly
from proofsmith.data_synth.trace.tactics import NameUse, annotate
from proofsmith.formats.coq_load_path import LoadPath
from proofsmith.formats.json_files import write_json, write_jsonl
from proofsmith.formats.leandojo import Provenance, TracedTactic, TracedTheorem, write_split
from proofsmith.retrieval.corpus import file_record

NO_GOALS = "no goals"

Definitions = dict[str, tuple[str, list[int], list[int]]]  # full name -> (file, start, end), first definition wins


def _dependency_order(records: list[dict]) -> list[dict]:
    """Files with what they import first (LeanDojo writes the corpus in that order)."""
    by_path = {r["path"]: r for r in records}
    done: dict[str, dict] = {}
    for root in sorted(by_path):
        stack = [(root, iter(by_path[root].get("imports", [])))]
        visiting = {root}
        while stack:
            path, children = stack[-1]
            child = next((c for c in children if c in by_path and c not in done and c not in visiting), None)
            if child is not None:
                visiting.add(child)
                stack.append((child, iter(by_path[child].get("imports", []))))
                continue
            stack.pop()
            visiting.discard(path)
            done.setdefault(path, by_path[path])
    return list(done.values())


class _Accessibility:
    """Which files each file sees (transitive imports), to check the provenances the tracer found."""

    def __init__(self, records: list[dict]):
        self._imports = {r["path"]: r.get("imports", []) for r in records}
        self._closure: dict[str, frozenset[str]] = {}

    def sees(self, path: str) -> frozenset[str]:
        if path not in self._closure:
            seen: set[str] = set()
            stack = list(self._imports.get(path, []))
            while stack:
                p = stack.pop()
                if p not in seen:
                    seen.add(p)
                    stack.extend(self._imports.get(p, []))
            self._closure[path] = frozenset(seen)
        return self._closure[path]


def export(
    out_dir: Path,
    records: Iterable[dict],
    libraries: list[CoqLibrary],
    eval_fraction: float = 0.05,
    seed: int = SEED,
    extra_stats: dict[str, Any] | None = None,
    load_path: LoadPath = LoadPath(),
) -> dict[str, Any]:
    """Write the benchmark directory from per-file trace records; returns the statistics.

    `load_path` is what Coq needs to load the traced files (and what they
    require): metadata.json records it, so later commands need nothing more.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    records = _dependency_order(list(records))
    definitions = _write_corpus(out_dir / "corpus.jsonl", records)
    traced = _traced_theorems(records, definitions, {lib.name: lib for lib in libraries})
    split_sizes = _write_splits(out_dir, traced.theorems, eval_fraction, seed)
    stats = _stats(records, definitions, traced, split_sizes) | (extra_stats or {})
    write_json(out_dir / "stats.json", stats)
    write_json(
        out_dir / "metadata.json",
        {
            "creation_time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "libraries": [
                {"name": lib.name, "logical": lib.logical, "root": str(lib.root), "url": lib.url, "commit": lib.commit}
                for lib in libraries
            ],
            "load_path": load_path.to_json(),
            "split_seed": seed,
            "eval_fraction": eval_fraction,
        },
    )
    return stats


def _write_corpus(path: Path, records: list[dict]) -> Definitions:
    """corpus.jsonl, a premise defined twice (an Include) listed where it is first defined."""
    definitions: Definitions = {}
    files = []
    for r in records:
        premises = [p for p in r["premises"] if p["full_name"] not in definitions]
        for p in premises:
            definitions[p["full_name"]] = (r["path"], p["start"], p["end"])
        files.append(file_record(r["path"], r["imports"], premises))
    write_jsonl(path, files)
    return definitions


@dataclass
class _Traced:
    theorems: list[TracedTheorem] = field(default_factory=list)
    provenance_counts: Counter = field(default_factory=Counter)  # found, not_in_corpus, inaccessible
    tactic_premises: list[int] = field(default_factory=list)  # premises named, per tactic


def _traced_theorems(records: list[dict], definitions: Definitions, libraries: dict[str, CoqLibrary]) -> _Traced:
    """The theorems with at least one traced tactic, each premise use resolved to its definition."""
    access = _Accessibility(records)
    traced = _Traced()
    for r in records:
        library = libraries.get(r["library"])
        for t in r["theorems"]:
            tactics = []
            for step in t["traced_tactics"]:
                if step["state_before"] == NO_GOALS:
                    continue
                uses, provenances = [], []
                for use in step["premises"]:
                    traced.provenance_counts["found"] += 1
                    where = definitions.get(use["full_name"])
                    if where is None:
                        traced.provenance_counts["not_in_corpus"] += 1
                        continue
                    def_path, def_pos, def_end = where
                    if not (def_path in access.sees(r["path"]) or (def_path == r["path"] and def_end <= t["start"])):
                        traced.provenance_counts["inaccessible"] += 1
                    uses.append(NameUse(use["full_name"], use["start"], use["end"]))
                    provenances.append(Provenance(use["full_name"], def_path, (def_pos[0], def_pos[1]), (def_end[0], def_end[1])))
                traced.tactic_premises.append(len(provenances))
                tactics.append(TracedTactic(
                    step["tactic"], annotate(step["tactic"], uses), tuple(provenances), step["state_before"],
                    step["state_after"],
                ))
            if not tactics:
                continue
            traced.theorems.append(TracedTheorem(
                library.url if library else "",
                library.commit if library else "",
                r["path"],
                t["full_name"],
                tuple(t["start"]),
                tuple(t["end"]),
                tuple(tactics),
                {"kind": t["kind"], "module": r["module"], "statement": t["statement"], "type": t.get("type", ""),
                 "proof": t["proof"]},
            ))
    return traced


def _write_splits(
    out_dir: Path, theorems: list[TracedTheorem], eval_fraction: float, seed: int
) -> dict[str, dict[str, int]]:
    """random/ and novel_premises/ {train,val,test}.json; returns their sizes."""
    n = eval_size(len(theorems), eval_fraction)
    indices = list(range(len(theorems)))
    used = [[p.full_name for tac in t.traced_tactics for p in tac.provenances] for t in theorems]
    splits = {
        "random": split_randomly(indices, n, n, seed),
        "novel_premises": split_by_premise(indices, lambda i: used[i], n, n, seed),
    }
    sizes: dict[str, dict[str, int]] = {}
    for strategy, parts in splits.items():
        (out_dir / strategy).mkdir(exist_ok=True)
        sizes[strategy] = {}
        for part, chosen in parts.items():
            write_split(out_dir / strategy / f"{part}.json", [theorems[i] for i in chosen])
            sizes[strategy][part] = len(chosen)
    return sizes


def _stats(records: list[dict], definitions: Definitions, traced: _Traced, split_sizes: dict) -> dict[str, Any]:
    failures = Counter(f["reason"] for r in records for f in r["failures"])
    statuses = Counter(r["status"] for r in records)
    counts = Counter()
    for r in records:
        counts.update(r.get("counts", {}))
    tactic_premises = traced.tactic_premises
    return {
        "files": len(records),
        "files_by_status": dict(statuses),
        "sentences": counts["sentences"],
        "declarations": len(definitions),
        "declarations_by_kind": dict(Counter(p["kind"] for r in records for p in r["premises"]).most_common()),
        "proofs": counts["proofs"],
        "theorems_traced": len(traced.theorems),
        "tactics": len(tactic_premises),
        "premises_per_tactic": round(statistics.fmean(tactic_premises), 4) if tactic_premises else 0.0,
        "tactics_with_premises": round(sum(1 for k in tactic_premises if k) / len(tactic_premises), 4)
        if tactic_premises
        else 0.0,
        "premise_uses": dict(traced.provenance_counts),
        "admitted_proofs": counts["admitted"],
        "failed_proofs": counts["failed_proofs"],
        "failures_by_reason": dict(failures.most_common()),
        "files_failed": sorted(r["path"] for r in records if r["status"] == "failed"),
        "splits": split_sizes,
        "trace_wall_s_per_file_sum": round(sum(r.get("time_s", 0.0) for r in records), 1),
        "trace_cpu_s": round(sum(r.get("cpu_s", 0.0) for r in records), 1),
    }
