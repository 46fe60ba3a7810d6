"""The augmented corpus on disk: one verified, de-duplicated mutant per JSON line.

A record is a Coq problem (``name``, ``split``, ``header``, ``statement``,
``proof``, ``source`` as ``owner/repo@commit path``: what `proofsmith check`
and the Coq statement loader of `proofsmith eval` read) plus its provenance
(``parent``, ``parent_statement``, ``rule``, ``premise``, ``location``,
``proof_style``, ``checker``), its proof traced step by step
(``traced_tactics``: tactic, state before, state after), and ``load_path``:
the Coq flags that load the library its header requires (`proofsmith check`
and `proofsmith eval` use them, so the records need nothing more).

`export_benchmark` turns a corpus into a LeanDojo Benchmark 4 directory
(``corpus.jsonl`` of the source library and ``random/{train,val,test}.json``)
so that the prover's fine-tuning and the retriever read mutants exactly like
traced library proofs. The split is decided by the parent, so all mutants of
one theorem land in the same split.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterator

from checker.coq.load_path import LoadPath
from data_synth.mutation import Mutant

SPLITS = ("train", "val", "test")


class MutantCorpusError(ValueError):
    """A corpus file that is not what `proofsmith synth mutate` writes; the message names the line."""


def split_of(parent: str, val_percent: int = 5, test_percent: int = 5) -> str:
    bucket = int(hashlib.sha1(parent.encode()).hexdigest(), 16) % 100
    if bucket < 100 - val_percent - test_percent:
        return "train"
    return "val" if bucket < 100 - test_percent else "test"


def mutant_record(
    m: Mutant, source: str, file_path: str, position: tuple[int, int], load_path: LoadPath = LoadPath()
) -> dict[str, Any]:
    return {
        "name": m.name,
        "split": split_of(m.parent),
        "header": m.header,
        "statement": m.statement,
        "proof": m.proof,
        "source": source,
        "parent": m.parent,
        "parent_statement": m.parent_statement,
        "rule": m.rule,
        "use": m.use,
        "premise": m.premise,
        "location": m.location,
        "proof_style": m.proof_style,
        "discovery_tactic": m.discovery_tactic,
        "key": m.key,
        "file_path": file_path,
        "position": list(position),
        "traced_tactics": list(m.traced_tactics),
        "checker": m.checker,
        "load_path": load_path.to_json(),
    }


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MutantCorpusError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict) or not all(
                isinstance(record.get(k), str) for k in ("name", "statement", "proof", "parent")
            ):
                raise MutantCorpusError(f"{path}:{number}: not a mutant record (needs name, statement, proof, parent)")
            yield record


def keep_parents(path: Path, done: set[str]) -> int:
    """Drop records whose parent is not in `done` (a run killed mid-parent); returns how many."""
    if not path.exists():
        return 0
    kept, dropped = [], 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                parent = json.loads(line).get("parent")
            except json.JSONDecodeError:
                dropped += 1  # a line cut short by the kill
                continue
            if parent in done:
                kept.append(line if line.endswith("\n") else line + "\n")
            else:
                dropped += 1
    if dropped:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        os.replace(tmp, path)
    return dropped


def _annotate(tactic: str, names: list[str]) -> str:
    for name in sorted(set(names), key=len, reverse=True):
        tactic = tactic.replace(name, f"<a>{name}</a>")
    return tactic


def export_benchmark(corpus_path: Path, out_dir: Path, source_corpus: Path, premise_positions: dict[str, tuple[str, list, list]]) -> dict[str, int]:
    """Write a LeanDojo Benchmark 4 directory of the mutants in `corpus_path`.

    `premise_positions` maps a full name to (file path, start, end) in the
    source corpus, for the provenance of the premise and the parent each
    proof uses. Mutants sit at their parent's end, so the parent itself and
    everything before it is accessible to them.
    """
    theorems: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for r in read_records(corpus_path):
        url, _, rest = r.get("source", "").partition("@")
        commit = rest.split(" ", 1)[0]
        used = [n for n in (r["premise"], r["parent"]) if n in premise_positions]
        provenance = [
            {
                "full_name": n,
                "def_path": premise_positions[n][0],
                "def_pos": list(premise_positions[n][1]),
                "def_end_pos": list(premise_positions[n][2]),
            }
            for n in used
        ]
        tactics = []
        for step in r.get("traced_tactics", []):
            mentioned = [n for n in used if n in step["tactic"]]
            tactics.append(
                {
                    "tactic": step["tactic"],
                    "annotated_tactic": [
                        _annotate(step["tactic"], mentioned),
                        [p for p in provenance if p["full_name"] in mentioned],
                    ],
                    "state_before": step["state_before"],
                    "state_after": step["state_after"],
                }
            )
        position = r.get("position", [0, 0])
        theorems[r.get("split") or split_of(r["parent"])].append(
            {
                "url": f"https://github.com/{url}" if url else "",
                "commit": commit,
                "file_path": r.get("file_path", ""),
                "full_name": r["name"],
                "start": position,
                "end": position,
                "header": r["header"],
                "statement": r["statement"],
                "parent": r["parent"],
                "rule": r["rule"],
                "traced_tactics": tactics,
            }
        )
    split_dir = out_dir / "random"
    split_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source_corpus, out_dir / "corpus.jsonl")
    for subset, items in theorems.items():
        tmp = split_dir / f"{subset}.json.tmp"
        tmp.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, split_dir / f"{subset}.json")
    return {s: len(v) for s, v in theorems.items()}
