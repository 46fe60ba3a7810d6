"""The end of a round: its data manifest (inputs and outputs with SHA-256) and its metrics line."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from proofsmith.formats.json_files import JsonlAppender, read_json, write_json
from proofsmith.iterate.config import IterateConfig
from proofsmith.iterate.layout import RunLayout
from proofsmith.iterate.pools import Pools
from proofsmith.iterate.records import MetricsLine, read_records


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dir_hash(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(path).as_posix().encode())
            h.update(sha256_file(f).encode())
    return h.hexdigest()


def read_metrics(layout: RunLayout) -> list[MetricsLine]:
    """The run's metrics lines in round order; a line written before the pool's cumulative counts were
    recorded gets them from the lines before it."""
    lines = sorted(read_records(layout.metrics, MetricsLine), key=lambda m: m.round)
    out: list[MetricsLine] = []
    for m in lines:
        if "cumulative_dataset_attempted" not in m.model_fields_set:
            m = m.model_copy(update={
                "cumulative_dataset_attempted": sum(p.dataset_attempted for p in out) + m.dataset_attempted,
                "cumulative_dataset_proved": sum(p.dataset_proved for p in out) + m.dataset_proved})
        out.append(m)
    return out


def write_manifest(config: IterateConfig, layout: RunLayout, r: int, state: dict[str, Any], pools: Pools,
                   base_model: str) -> None:
    rd = layout.round(r)
    files = {path.name: {"sha256": sha256_file(path), "lines": sum(1 for _ in path.open("rb"))}
             for path in rd.data_files() if path.is_file()}
    trace, mutants = Path(config.data.trace), Path(config.data.mutants)
    inputs = {
        "trace": {"path": str(trace), "split": f"{config.strategy}/train",
                  "train_sha256": sha256_file(trace / config.strategy / "train.json")},
        "mutants": {"path": str(mutants), "sha256": sha256_file(mutants)} if mutants.is_file() else None,
        "base_model": base_model,
        "pool_library_split": config.library_pool_split,  # with val: statements only, their proofs never read
        "pool_library": sha256_text("\n".join(p.name for p in pools.library)),
        "pool_mutants": sha256_text("\n".join(p.name for p in pools.mutants)),
        "pool_statements": sha256_text("\n".join(p.name for p in pools.statements)),
    }
    manifest = {"round": r, "inputs": inputs, "files": files, "config": config.model_dump(),
                "model": {"path": str(rd.model), "sha256": dir_hash(rd.model) if rd.model.is_dir() else None},
                "stages": state}
    write_json(rd.manifest, manifest, indent=1)


def metrics_line(layout: RunLayout, r: int, state: dict[str, Any], seconds: float) -> MetricsLine:
    rd = layout.round(r)
    previous = [m for m in read_metrics(layout) if m.round < r]

    def count(stage: str, key: str) -> int:
        return int(state.get(stage, {}).get(key, 0))

    attempted, proved = count("prove", "attempted"), count("prove", "proved")
    c_att, c_proved = count("prove_conjectures", "attempted"), count("prove_conjectures", "proved")
    funnel = read_json(rd.funnel)["counts"] if rd.funnel.is_file() else {}
    train = state.get("train", {})
    return MetricsLine(
        round=r, model=str(rd.model), attempted=attempted + c_att, proved=proved + c_proved,
        dataset_attempted=attempted, dataset_proved=proved, conjectures_attempted=c_att, conjectures_proved=c_proved,
        cumulative_attempted=sum(m.attempted for m in previous) + attempted + c_att,
        cumulative_proved=sum(m.proved for m in previous) + proved + c_proved,
        cumulative_dataset_attempted=sum(m.dataset_attempted for m in previous) + attempted,
        cumulative_dataset_proved=sum(m.dataset_proved for m in previous) + proved,
        new_proofs=proved + c_proved, funnel=funnel,
        heldout={k: v for k, v in state.get("heldout", {}).items() if k != "finished_at"},
        train_loss=train.get("train_loss"), train_first_loss=train.get("first_loss"),
        train_last_loss=train.get("last_loss"), train_examples=train.get("examples"),
        train_seconds=train.get("seconds"),
        memory={k: v for k, v in state.get("memory", {}).items() if k != "finished_at"},
        seconds_this_run=round(seconds, 1),
        stage_finished_at={k: v.get("finished_at") for k, v in state.items()},
    )


def append_metrics(layout: RunLayout, line: MetricsLine) -> None:
    with JsonlAppender(layout.metrics) as f:
        f.append(line.model_dump())
