"""The tactic memory of a run: seeded from the trace's train split, learning every verified proof of every round.

Round 0's memory is the traced proofs of the held-out strategy's train split
(`memory.from_trace`, the default) or empty; round r's is round r-1's plus
every proof traced in round r (pool statements, mutants, conjectures: all
proved ones, or with `memory.conjectures = "kept"` those the STP selection keeps). Each round saves its memory
(round-R/memory, with a DONE mark), and round r's provers, held-out
evaluation included, use round r's memory.
"""

from __future__ import annotations

from typing import Any

from proofsmith.iterate.config import IterateConfig
from proofsmith.iterate.layout import RunLayout
from proofsmith.iterate.records import KeptConjecture, TracedProof, read_records


def memory_of(layout: RunLayout, r: int):
    """The saved memory folder of round r, or None when it has none."""
    rd = layout.round(r)
    return rd.memory if rd.memory_done.is_file() else None


def update_memory(config: IterateConfig, layout: RunLayout, r: int) -> dict[str, Any]:
    """Round r's memory: the previous round's (round 0: the seed) plus the round's traced proofs; the stage's counts."""
    try:
        from proofsmith.prover.tactic_memory import TacticMemory
    except ImportError:
        return {"status": "prover.tactic_memory not installed: no memory"}
    if not config.memory.enabled:
        return {"status": "disabled in the config"}
    info: dict[str, Any] = {}
    previous = next((m for k in range(r - 1, -1, -1) if (m := memory_of(layout, k)) is not None), None)
    if previous is not None:
        memory = TacticMemory.load(previous)
        info["from"] = str(previous)
    elif config.memory.from_trace:
        memory = TacticMemory.from_trace(config.data.trace, config.strategy)
        info["from"] = f"{config.data.trace} {config.strategy}/train"
    else:
        memory = TacticMemory()
        info["from"] = "empty"
    before = len(memory)
    added = 0
    rd = layout.round(r)
    kept = {k.name for k in read_records(rd.kept_conjectures, KeptConjecture)}
    for proof in read_records(rd.proofs, TracedProof):
        if config.memory.conjectures == "kept" and proof.pool == "conjectures" and proof.name not in kept:
            continue
        if proof.steps:
            memory.add_proof(proof.name, proof.steps)
            added += 1
    memory.save(rd.memory)
    rd.memory_done.write_text("")
    info.update(status="updated", proofs_added=added, steps_before=before, steps_after=len(memory))
    return info
