"""A trace folder written by hand, laid out as `proofsmith trace` writes it, for tests that need no real tracing."""

from __future__ import annotations

import json
from pathlib import Path


def write_hand_trace(out: Path, test: list[dict], *, name: str, logical: str, root: Path,
                     load_path: list[str], train: list[dict] | None = None, val: list[dict] | None = None) -> Path:
    """`out` holding one library (`name`, bound to `logical` at `root`) whose random/test (and novel_premises/test)
    theorems are `test`, with the given (default: empty) train and val parts and an empty corpus."""
    parts = {"train": train or [], "val": val or [], "test": test}
    for strategy in ("random", "novel_premises"):
        (out / strategy).mkdir(parents=True)
        for part, theorems in parts.items():
            (out / strategy / f"{part}.json").write_text(json.dumps(theorems))
    (out / "corpus.jsonl").write_text("")
    (out / "metadata.json").write_text(json.dumps({
        "libraries": [{"name": name, "logical": logical, "root": str(root), "url": "", "commit": ""}],
        "load_path": load_path,
    }))
    return out
