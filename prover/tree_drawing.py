"""Drawing a search tree (its JSON form, `SearchTree.to_json()`): Graphviz dot text or a PNG.

The dot text can be rendered anywhere Graphviz is installed; the PNG is drawn
with matplotlib alone (depth on the vertical axis), so it works here too.
Nodes on the proof are drawn green, failed nodes grey, error leaves red.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_COLORS = {"proved": "#7fc97f", "failed": "#d9d9d9", "open": "#ffffff", "error": "#f0a0a0"}


def _label(text: str, width: int = 48, lines: int = 4) -> str:
    rows = [r[:width] for r in text.splitlines() if r.strip()]
    if len(rows) > lines:
        rows = rows[: lines - 1] + ["..."]
    return "\n".join(rows)


def _fill(node: dict[str, Any]) -> str:
    return _COLORS["error"] if node["kind"] == "error" else _COLORS[node["status"]]


def _proof_edges(tree: dict[str, Any]) -> set[tuple[int, int]]:
    """Edges on the shortest proof: from the root, always to the nearest proved child."""
    nodes = {n["id"]: n for n in tree["nodes"]}
    out: dict[int, list[dict]] = {}
    for e in tree["edges"]:
        out.setdefault(e["src"], []).append(e)
    path: set[tuple[int, int]] = set()
    current = tree["root"]
    while nodes[current]["kind"] == "internal" and nodes[current]["status"] == "proved":
        edge = min(
            (e for e in out.get(current, []) if nodes[e["dst"]]["status"] == "proved"),
            key=lambda e: nodes[e["dst"]].get("distance_to_proof", 0),
        )
        path.add((edge["src"], edge["dst"]))
        current = edge["dst"]
    return path


def to_dot(tree: dict[str, Any]) -> str:
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l") + '"'

    on_proof = _proof_edges(tree)
    lines = ["digraph search {", '  node [shape=box, style=filled, fontname="monospace", fontsize=9];']
    for node in tree["nodes"]:
        if node["kind"] == "internal":
            text = _label(node["goals"]) + f"\n[{node['cumulative_logprob']:.2f}]"
        elif node["kind"] == "error":
            text = ("timeout: " if node.get("timed_out") else "") + _label(node["message"], lines=2)
        else:
            text = "QED"
        lines.append(f"  n{node['id']} [label={quote(text + chr(10))}, fillcolor={quote(_fill(node))}];")
    for edge in tree["edges"]:
        bold = ", penwidth=2.5, color=darkgreen" if (edge["src"], edge["dst"]) in on_proof else ""
        lines.append(
            f"  n{edge['src']} -> n{edge['dst']} [label={quote(edge['tactic'][:40])}, fontsize=8{bold}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_png(tree: dict[str, Any], path: str | Path, max_nodes: int = 200) -> Path:
    """A layered drawing: one row per depth, the proof path in bold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nodes = {n["id"]: n for n in tree["nodes"][:max_nodes]}
    depth: dict[int, int] = {tree["root"]: 0}
    for edge in tree["edges"]:  # edges are stored in creation order, parents first
        if edge["src"] in depth and edge["dst"] not in depth:
            depth[edge["dst"]] = depth[edge["src"]] + 1
    rows: dict[int, list[int]] = {}
    for node_id in nodes:
        rows.setdefault(depth.get(node_id, 0), []).append(node_id)
    pos = {}
    for d, ids in rows.items():
        for i, node_id in enumerate(ids):
            pos[node_id] = ((i + 1) / (len(ids) + 1), -d)
    width = max(6.0, 1.2 * max(len(ids) for ids in rows.values()))
    fig, ax = plt.subplots(figsize=(min(width, 40), 1.1 * (len(rows) + 1)))
    # Text and arrows do not move the axes limits: set them from the layout.
    ax.set_xlim(0, 1)
    ax.set_ylim(-max(rows) - 0.5, 0.5)
    on_proof = _proof_edges(tree)
    for edge in tree["edges"]:
        if edge["src"] in pos and edge["dst"] in pos and edge["src"] != edge["dst"]:
            (x0, y0), (x1, y1) = pos[edge["src"]], pos[edge["dst"]]
            bold = (edge["src"], edge["dst"]) in on_proof
            ax.annotate(
                "", xy=(x1, y1), xytext=(x0, y0),
                arrowprops={"arrowstyle": "->", "color": "darkgreen" if bold else "grey", "lw": 2.5 if bold else 0.7},
            )
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, edge["tactic"][:24], fontsize=6, ha="center",
                    color="darkgreen" if bold else "black")
    for node_id, (x, y) in pos.items():
        node = nodes[node_id]
        text = "QED" if node["kind"] == "finished" else ("error" if node["kind"] == "error" else str(node_id))
        ax.text(x, y, text, fontsize=7, ha="center", va="center",
                bbox={"boxstyle": "round", "facecolor": _fill(node), "edgecolor": "black", "lw": 0.5})
    ax.set_axis_off()
    ax.set_title(f"search tree: {len(tree['nodes'])} nodes, {len(tree['edges'])} edges", fontsize=9)
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def save_tree(tree: dict[str, Any], out_prefix: str | Path) -> list[Path]:
    """Write PREFIX.json, PREFIX.dot and PREFIX.png."""
    prefix = Path(out_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    json_path = prefix.with_suffix(".json")
    json_path.write_text(json.dumps(tree, indent=1))
    dot_path = prefix.with_suffix(".dot")
    dot_path.write_text(to_dot(tree))
    return [json_path, dot_path, to_png(tree, prefix.with_suffix(".png"))]
