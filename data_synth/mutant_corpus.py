"""The augmented corpus as a benchmark: a mutant corpus (formats.mutant_record) exported.

`export_benchmark` turns a corpus into a LeanDojo Benchmark 4 directory
(``corpus.jsonl`` of the source library and ``random/{train,val,test}.json``)
so that the prover's fine-tuning and the retriever read mutants exactly like
traced library proofs. The split is decided by the parent, so all mutants of
one theorem land in the same split.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from proofsmith.formats.json_files import replacing
from proofsmith.formats.leandojo import Provenance, TracedTactic, TracedTheorem, write_split
from proofsmith.formats.mutant_record import SPLITS, read_records


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
    theorems: dict[str, list[TracedTheorem]] = {s: [] for s in SPLITS}
    for _, r in read_records(corpus_path):
        repo, commit, _ = r.source_parts()
        used = [n for n in (r.premise, r.parent) if n in premise_positions]
        provenance = {
            n: Provenance(n, premise_positions[n][0], tuple(premise_positions[n][1]), tuple(premise_positions[n][2]))
            for n in used
        }
        tactics = []
        for step in r.traced_tactics:
            mentioned = [n for n in used if n in step["tactic"]]
            tactics.append(TracedTactic(
                step["tactic"], _annotate(step["tactic"], mentioned), tuple(provenance[n] for n in mentioned),
                step["state_before"], step["state_after"],
            ))
        theorems[r.split].append(TracedTheorem(
            f"https://github.com/{repo}", commit, r.file_path, r.name, r.position, r.position, tuple(tactics),
            {"header": r.header, "statement": r.statement, "parent": r.parent, "rule": r.rule},
        ))
    split_dir = out_dir / "random"
    split_dir.mkdir(parents=True, exist_ok=True)
    with replacing(out_dir / "corpus.jsonl") as tmp:
        shutil.copyfile(source_corpus, tmp)
    for subset, items in theorems.items():
        write_split(split_dir / f"{subset}.json", items)
    return {s: len(v) for s, v in theorems.items()}
