"""The search tree of best-first proof search, with status propagation.

Three node kinds: `InternalNode` (an open proof state, expanded at most once),
`ProofFinishedNode` (a tactic closed every goal) and `ErrorNode` (the tactic
failed or timed out). Edges carry the tactic and its log-probability. States
are shared by their pretty-printed goals, so the "tree" is really a graph and
may contain cycles (a tactic that leads back to an earlier state; search drops
tactics that lead back to their own node).

Status propagation:
- a node is PROVED as soon as one outgoing edge reaches a PROVED node; its
  `distance_to_proof` is the length of the shortest proof known from it;
- a node is FAILED once its expansion is done (every candidate tried, a
  timed-out one retried too) and every outgoing edge reaches a FAILED node (a
  node whose only way out is a cycle stays OPEN);
- changes travel up the incoming edges;
- a finished node whose whole proof the checker rejects (an unguarded `fix`
  closed by its own hypothesis) becomes a dead end (`SearchTree.reject`) and
  every status is worked out again, so search can go on from where it was.

`SearchTree.check_invariants()` checks these rules, the links and the sizes
(the search tests run it on every tree they grow).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from proofsmith.checker.types import GoalState


class Status(str, Enum):
    OPEN = "open"
    PROVED = "proved"
    FAILED = "failed"


@dataclass(eq=False)
class Edge:
    tactic: str
    logprob: float
    src: InternalNode
    dst: Node
    time_s: float = 0.0


@dataclass(eq=False)
class ProofFinishedNode:
    """A tactic closed every goal. PROVED until the whole-proof check rejects the proof through it
    (`SearchTree.reject`): then it is a dead end, FAILED, and `rejected` says why."""

    id: int
    state: GoalState | None = None
    in_edges: list[Edge] = field(default_factory=list)
    rejected: str | None = None

    @property
    def status(self) -> Status:
        return Status.PROVED if self.rejected is None else Status.FAILED

    @property
    def distance_to_proof(self) -> float:
        return 0 if self.rejected is None else math.inf


@dataclass(eq=False)
class ErrorNode:
    id: int
    message: str
    timed_out: bool = False
    in_edges: list[Edge] = field(default_factory=list)

    status = Status.FAILED
    distance_to_proof = math.inf


@dataclass(eq=False)
class InternalNode:
    id: int
    state: GoalState
    cumulative_logprob: float
    depth: int
    in_edges: list[Edge] = field(default_factory=list)
    # None until expanded; then every tactic tried from here.
    out_edges: list[Edge] | None = None
    status: Status = Status.OPEN
    distance_to_proof: float = math.inf
    # Every candidate has been tried (a search that stops in the middle of an expansion leaves it False).
    expansion_done: bool = False

    @property
    def expanded(self) -> bool:
        return self.out_edges is not None

    @property
    def priority(self) -> float:
        return self.cumulative_logprob

    def add_edge(self, edge: Edge) -> None:
        if self.out_edges is None:
            self.out_edges = []
        self.out_edges.append(edge)
        edge.dst.in_edges.append(edge)
        if edge.dst.status is Status.PROVED:
            _propagate_proof(self)

    def finish_expansion(self) -> None:
        """Called once every candidate tactic has been tried from this node."""
        if self.out_edges is None:
            self.out_edges = []
        self.expansion_done = True
        _propagate_failure(self)


Node = InternalNode | ProofFinishedNode | ErrorNode


def _propagate_proof(start: InternalNode) -> None:
    stack = [start]
    while stack:
        node = stack.pop()
        best = min(
            (1 + e.dst.distance_to_proof for e in node.out_edges or () if e.dst.status is Status.PROVED),
            default=math.inf,
        )
        if best < node.distance_to_proof:
            node.distance_to_proof = best
            node.status = Status.PROVED
            stack.extend(e.src for e in node.in_edges)


def _propagate_failure(start: InternalNode) -> None:
    stack = [start]
    while stack:
        node = stack.pop()
        if node.status is not Status.OPEN or not node.expansion_done:
            continue
        if all(e.dst.status is Status.FAILED for e in node.out_edges or ()):
            node.status = Status.FAILED
            stack.extend(e.src for e in node.in_edges)


def _shortest_way(node: InternalNode) -> Edge:
    """The edge out of a PROVED node that starts its shortest proof."""
    return min((e for e in node.out_edges or () if e.dst.status is Status.PROVED), key=lambda e: e.dst.distance_to_proof)


class TreeInvariantError(AssertionError):
    """The search tree contradicts what it promises (SearchTree.check_invariants)."""


class SearchTree:
    """All nodes of one search, indexed by goal text for de-duplication."""

    def __init__(self, root_state: GoalState):
        self.nodes: list[Node] = []
        self._by_text: dict[str, InternalNode] = {}
        self.root = self.internal(root_state, 0.0, 0)

    def _next_id(self) -> int:
        return len(self.nodes)

    def lookup(self, state: GoalState) -> InternalNode | None:
        return self._by_text.get(state.text)

    def internal(self, state: GoalState, cumulative_logprob: float, depth: int) -> InternalNode:
        node = InternalNode(self._next_id(), state, cumulative_logprob, depth)
        self.nodes.append(node)
        self._by_text[state.text] = node
        return node

    def finished(self, state: GoalState | None) -> ProofFinishedNode:
        node = ProofFinishedNode(self._next_id(), state)
        self.nodes.append(node)
        return node

    def error(self, message: str, timed_out: bool = False) -> ErrorNode:
        node = ErrorNode(self._next_id(), message, timed_out)
        self.nodes.append(node)
        return node

    def proof_end(self) -> ProofFinishedNode | None:
        """The finished node the shortest proof from the root ends in, or None."""
        if self.root.status is not Status.PROVED:
            return None
        node: Node = self.root
        while isinstance(node, InternalNode):
            node = _shortest_way(node).dst
        assert isinstance(node, ProofFinishedNode)
        return node

    def reject(self, end: ProofFinishedNode, reason: str) -> None:
        """The checker rejected the proof ending in `end`: that node is dead, every status is recomputed.

        Proof distances are shortest paths back from the finished nodes still standing (breadth
        first over incoming edges); failure then spreads up from the nodes whose expansion is done.
        """
        end.rejected = reason
        internal = [node for node in self.nodes if isinstance(node, InternalNode)]
        for node in internal:
            node.status, node.distance_to_proof = Status.OPEN, math.inf
        layer: list[Node] = [n for n in self.nodes if isinstance(n, ProofFinishedNode) and n.rejected is None]
        distance = 0
        while layer:
            distance += 1
            following: list[Node] = []
            for node in layer:
                for edge in node.in_edges:
                    if edge.src.distance_to_proof > distance:
                        edge.src.distance_to_proof, edge.src.status = distance, Status.PROVED
                        following.append(edge.src)
            layer = following
        for node in internal:
            _propagate_failure(node)

    @property
    def edges(self) -> Iterator[Edge]:
        for node in self.nodes:
            if isinstance(node, InternalNode):
                yield from node.out_edges or ()

    def proof(self) -> list[str] | None:
        """The tactics of the shortest proof found from the root, or None."""
        steps = self.proof_steps()
        return None if steps is None else [tactic for _, tactic in steps]

    def proof_steps(self) -> list[tuple[str, str]] | None:
        """(goal text before, tactic) along the shortest proof found from the root, or None."""
        if self.root.status is not Status.PROVED:
            return None
        steps: list[tuple[str, str]] = []
        node: Node = self.root
        while isinstance(node, InternalNode):
            edge = _shortest_way(node)
            steps.append((node.state.text, edge.tactic))
            node = edge.dst
        return steps

    def check_invariants(self) -> None:
        """Raise TreeInvariantError naming the first node that breaks what the tree promises.

        Links: ids are positions in `nodes`; every edge is in its source's
        `out_edges` and its target's `in_edges`, and both ends are nodes of
        this tree; every node but the root is reached by an edge; goal texts
        name one internal node each. Status: a node is PROVED exactly when an
        edge leads to a PROVED node, its distance being one more than the
        shortest such; a node is FAILED exactly when its expansion is done
        and all its edges lead to FAILED nodes; finished nodes are PROVED at distance 0, error nodes
        FAILED. A node reached first through an edge is one deeper than that
        edge's source. Sizes: `size()` adds up.
        """
        for index, node in enumerate(self.nodes):
            if node.id != index:
                raise TreeInvariantError(f"node {node.id} is at position {index}")
        if not self.nodes or self.nodes[0] is not self.root or not isinstance(self.root, InternalNode):
            raise TreeInvariantError("the root is not the first, internal node")
        for node in self.nodes:
            self._check_links(node)
            self._check_status(node)
        for text, node in self._by_text.items():
            if not self._owns(node) or node.state.text != text:
                raise TreeInvariantError(f"goal text {text[:40]!r} indexes a node that does not hold it")
        internal = [node for node in self.nodes if isinstance(node, InternalNode)]
        if len(self._by_text) != len(internal):
            raise TreeInvariantError(f"{len(internal)} internal nodes but {len(self._by_text)} distinct goal texts")
        counts = self.size()
        kinds = counts["internal"] + counts["errors"] + counts["finished"]
        if kinds != counts["nodes"] or counts["expanded"] > counts["internal"]:
            raise TreeInvariantError(f"node counts do not add up: {counts}")
        arriving = sum(len(node.in_edges) for node in self.nodes)
        if counts["edges"] != arriving:
            raise TreeInvariantError(f"{counts['edges']} edges leave nodes but {arriving} arrive")

    def _owns(self, node: Node) -> bool:
        return 0 <= node.id < len(self.nodes) and self.nodes[node.id] is node

    def _check_links(self, node: Node) -> None:
        for edge in getattr(node, "out_edges", None) or ():
            if edge.src is not node or not self._owns(edge.dst) or not any(e is edge for e in edge.dst.in_edges):
                raise TreeInvariantError(f"edge {edge.tactic!r} from node {node.id} is not linked at both ends")
        for edge in node.in_edges:
            if edge.dst is not node or not self._owns(edge.src) or not any(e is edge for e in edge.src.out_edges or ()):
                raise TreeInvariantError(f"edge {edge.tactic!r} into node {node.id} is not linked at both ends")
        if node is not self.root and not node.in_edges:
            raise TreeInvariantError(f"node {node.id} is reached by no edge")
        if isinstance(node, InternalNode) and node is not self.root and node.depth != node.in_edges[0].src.depth + 1:
            first = node.in_edges[0].src
            raise TreeInvariantError(f"node {node.id} is at depth {node.depth}, reached first from depth {first.depth}")

    def _check_status(self, node: Node) -> None:
        if isinstance(node, ProofFinishedNode):
            if node.rejected is None and (node.status is not Status.PROVED or node.distance_to_proof != 0):
                raise TreeInvariantError(f"finished node {node.id} is not proved at distance 0")
            if node.rejected is not None and node.status is not Status.FAILED:
                raise TreeInvariantError(f"finished node {node.id} was rejected but is not failed")
            return
        if isinstance(node, ErrorNode):
            if node.status is not Status.FAILED or node.distance_to_proof != math.inf:
                raise TreeInvariantError(f"error node {node.id} is not failed")
            return
        edges = node.out_edges or ()
        shortest = min((1 + e.dst.distance_to_proof for e in edges if e.dst.status is Status.PROVED), default=math.inf)
        if (node.status is Status.PROVED) != (shortest < math.inf) or node.distance_to_proof != shortest:
            raise TreeInvariantError(
                f"node {node.id} is {node.status.value} at distance {node.distance_to_proof}, "
                f"its proved children give {shortest}"
            )
        every_way_failed = node.expanded and all(e.dst.status is Status.FAILED for e in edges)
        if node.status is Status.FAILED and not every_way_failed:
            raise TreeInvariantError(f"node {node.id} is failed but not every way out of it failed")
        if node.status is Status.FAILED and not node.expansion_done:
            raise TreeInvariantError(f"node {node.id} is failed before all its tactics were tried")
        if node.expansion_done and every_way_failed and node.status is not Status.FAILED:
            raise TreeInvariantError(f"node {node.id} is {node.status.value} but every way out of it failed")

    def size(self) -> dict[str, int]:
        counts = {"nodes": len(self.nodes), "internal": 0, "expanded": 0, "errors": 0, "finished": 0}
        for node in self.nodes:
            if isinstance(node, InternalNode):
                counts["internal"] += 1
                counts["expanded"] += node.expanded
            elif isinstance(node, ErrorNode):
                counts["errors"] += 1
            else:
                counts["finished"] += 1
        counts["edges"] = sum(1 for _ in self.edges)
        return counts

    def to_json(self) -> dict[str, Any]:
        """Every node and edge, for saving and drawing (prover.tree_drawing)."""
        nodes = []
        for node in self.nodes:
            record: dict[str, Any] = {"id": node.id, "status": node.status.value}
            if isinstance(node, InternalNode):
                record.update(
                    kind="internal",
                    goals=node.state.text,
                    cumulative_logprob=round(node.cumulative_logprob, 4),
                    depth=node.depth,
                    expanded=node.expanded,
                )
            elif isinstance(node, ErrorNode):
                record.update(kind="error", message=node.message, timed_out=node.timed_out)
            else:
                record.update(kind="finished")
                if node.rejected is not None:
                    record["rejected"] = node.rejected
            if node.distance_to_proof != math.inf:
                record["distance_to_proof"] = int(node.distance_to_proof)
            nodes.append(record)
        edges = [
            {
                "src": e.src.id,
                "dst": e.dst.id,
                "tactic": e.tactic,
                "logprob": round(e.logprob, 4),
                "time_s": round(e.time_s, 4),
            }
            for e in self.edges
        ]
        return {"root": self.root.id, "proof": self.proof(), "nodes": nodes, "edges": edges}
