"""Best-first search against real Coq: proofs it returns are accepted, budgets end searches cleanly."""

import json
import math
import random
import time

import pytest

from proofsmith.checker.types import GoalState, Theorem, Verdict
from proofsmith.prover.base import Budget
from proofsmith.prover.generators.model_free import ModelFreeGenerator
from proofsmith.prover.premises import RetrievedPremise
from proofsmith.prover.registry import ProverOptionError, make_prover
from proofsmith.prover.search import BestFirstSearchProver
from proofsmith.prover.search_tree import Edge, SearchTree, Status, TreeInvariantError
from proofsmith.prover.tree_drawing import save_tree, to_dot

REALS = "Require Import Reals.\nOpen Scope R_scope.\n"


def state(text: str) -> GoalState:
    return GoalState(handle=text, goals=(), text=text)


class FixedRetriever:
    """A retriever over a fixed premise list (the protocol the prover depends on), taking `delay_s` per call."""

    def __init__(self, premises, delay_s=0.0):
        self.premises = premises
        self.delay_s = delay_s
        self.calls = 0

    def retrieve(self, goal, theorem, k):
        self.calls += 1
        time.sleep(self.delay_s)
        return self.premises[:k]


# ---------------------------------------------------------------- tree logic (pure)


def test_proof_status_propagates_to_the_root_and_picks_the_shortest_proof():
    tree = SearchTree(state("root"))
    a = tree.internal(state("a"), -1.0, 1)
    b = tree.internal(state("b"), -0.5, 1)
    tree.root.add_edge(Edge("ta.", -1.0, tree.root, a))
    tree.root.add_edge(Edge("tb.", -0.5, tree.root, b))
    tree.root.finish_expansion()
    c = tree.internal(state("c"), -2.0, 2)
    a.add_edge(Edge("tc.", -1.0, a, c))
    a.finish_expansion()
    c.add_edge(Edge("qed_long.", -0.1, c, tree.finished(None)))
    assert tree.root.status is Status.PROVED and tree.proof() == ["ta.", "tc.", "qed_long."]
    tree.check_invariants()
    b.add_edge(Edge("qed_short.", -0.1, b, tree.finished(None)))
    assert tree.proof() == ["tb.", "qed_short."]
    assert tree.root.distance_to_proof == 2
    tree.check_invariants()


def test_failure_propagates_only_when_every_child_failed():
    tree = SearchTree(state("root"))
    a = tree.internal(state("a"), -1.0, 1)
    tree.root.add_edge(Edge("ta.", -1.0, tree.root, a))
    tree.root.add_edge(Edge("bad.", -1.0, tree.root, tree.error("no")))
    tree.root.finish_expansion()
    assert tree.root.status is Status.OPEN
    a.add_edge(Edge("bad2.", -1.0, a, tree.error("no")))
    a.finish_expansion()
    assert a.status is Status.FAILED and tree.root.status is Status.FAILED
    assert tree.proof() is None
    tree.check_invariants()


def test_a_cycle_never_proves_or_fails_a_node():
    tree = SearchTree(state("root"))
    tree.root.add_edge(Edge("idtac.", -0.1, tree.root, tree.root))
    tree.root.finish_expansion()
    assert tree.root.status is Status.OPEN
    assert tree.lookup(state("root")) is tree.root
    tree.check_invariants()


def random_search(seed: int) -> SearchTree:
    """A tree grown the way search grows one: nodes expanded once, in batches, each edge to a known
    state (cycles too), a new one, a finished proof or an error; the invariants hold after every step."""
    rng = random.Random(seed)
    tree = SearchTree(state("s0"))
    frontier = [tree.root]
    while frontier:
        batch = [frontier.pop(rng.randrange(len(frontier))) for _ in range(min(len(frontier), rng.randint(1, 3)))]
        for node in batch:
            for _ in range(rng.randint(0, 4)):
                roll = rng.random()
                if roll < 0.3 and len(tree.nodes) < 40:
                    dst = tree.internal(state(f"s{len(tree.nodes)}"), node.cumulative_logprob - 1.0, node.depth + 1)
                    frontier.append(dst)
                elif roll < 0.5:
                    dst = rng.choice([n for n in tree.nodes if n.__class__ is tree.root.__class__])
                elif roll < 0.6:
                    dst = tree.finished(None)
                else:
                    dst = tree.error("no")
                node.add_edge(Edge(f"t{len(tree.nodes)}.", -1.0, node, dst))
                tree.check_invariants()
        for node in batch:
            node.finish_expansion()
            tree.check_invariants()
    return tree


def test_search_trees_keep_their_invariants():
    statuses = {random_search(seed).root.status for seed in range(200)}
    assert statuses == {Status.PROVED, Status.FAILED, Status.OPEN}


@pytest.mark.parametrize(
    "corrupt,message",
    [
        (lambda t, a, b: setattr(a, "status", Status.PROVED), "its proved children give inf"),
        (lambda t, a, b: setattr(t.root, "distance_to_proof", 5), "distance 5"),
        (lambda t, a, b: setattr(a, "status", Status.FAILED), "not every way out of it failed"),
        (lambda t, a, b: (a.add_edge(Edge("no.", -1.0, a, t.error("no"))), setattr(a, "expansion_done", True)),
         "open but every way out of it failed"),
        (lambda t, a, b: a.in_edges.clear(), "not linked at both ends"),
        (lambda t, a, b: setattr(a, "depth", 3), "depth 3"),
        (lambda t, a, b: b.add_edge(Edge("again.", -1.0, b, t.internal(state("a"), -2.0, 2))), "distinct goal texts"),
        (lambda t, a, b: t.nodes.reverse(), "position"),
    ],
)
def test_a_broken_tree_is_named(corrupt, message):
    tree = SearchTree(state("root"))
    a = tree.internal(state("a"), -1.0, 1)
    b = tree.internal(state("b"), -1.0, 1)
    tree.root.add_edge(Edge("ta.", -1.0, tree.root, a))
    tree.root.add_edge(Edge("tb.", -1.0, tree.root, b))
    b.add_edge(Edge("done.", -1.0, b, tree.finished(None)))
    b.add_edge(Edge("open.", -1.0, b, a))
    tree.check_invariants()
    corrupt(tree, a, b)
    with pytest.raises(TreeInvariantError, match=message):
        tree.check_invariants()


# ---------------------------------------------------------------- model-free generator


def test_model_free_candidates_are_a_ranked_distribution():
    premises = [RetrievedPremise("Nat.add_comm", "forall n m, n + m = m + n", 0.9),
                RetrievedPremise("Nat.mul_comm", "forall n m, n * m = m * n", 0.2)]
    gen = ModelFreeGenerator()
    [cands] = gen.generate(["x : R\n============================\nexists y : R, y = x"], 50, [premises])
    tactics = [t for t, _ in cands]
    logprobs = [lp for _, lp in cands]
    assert len(tactics) == len(set(tactics))
    assert logprobs == sorted(logprobs, reverse=True) and all(lp <= 0 for lp in logprobs)
    assert math.isclose(sum(math.exp(lp) for lp in logprobs), 1.0, rel_tol=1e-6)
    # goal hints: reals and an existential target; no intros (nothing to introduce)
    assert tactics.index("lra.") < tactics.index("ring.") and "eexists." in tactics[:4]
    assert "intros." not in tactics
    # the better premise gets more mass in every form
    lp = dict(cands)
    assert lp["apply Nat.add_comm."] > lp["apply Nat.mul_comm."]
    assert lp["rewrite <- Nat.add_comm."] > lp["rewrite <- Nat.mul_comm."]
    assert len(gen.generate(["a", "b"], 3)) == 2 and all(len(c) == 3 for c in gen.generate(["a", "b"], 3))


def test_model_free_proposes_lean_tactics_for_lean_goals():
    premises = [RetrievedPremise("Nat.add_comm", "∀ (n m : ℕ), n + m = m + n", 0.9)]
    goal = "x y : ℝ\nh₀ : x + y = 10\n⊢ x = 10 - y ∧ y = 10 - x"
    [cands] = ModelFreeGenerator().generate([goal], 40, [premises])
    tactics = [t for t, _ in cands]
    assert "constructor" in tactics[:3] and "linarith" in tactics and "nlinarith" in tactics
    assert "rw [Nat.add_comm]" in tactics and "rw [← Nat.add_comm]" in tactics
    assert not any(t.endswith(".") for t in tactics), "Coq sentences proposed for a Lean goal"
    assert "intro" not in tactics  # nothing to introduce
    assert math.isclose(sum(math.exp(lp) for _, lp in cands), 1.0, rel_tol=1e-6)


def test_mixture_weights_the_parts_probabilities():
    from proofsmith.prover.generators.mixture import MixtureGenerator

    only_lia = ModelFreeGenerator(automation={"lia.": 1.0})
    lia_or_auto = ModelFreeGenerator(automation={"lia.": 1.0, "auto.": 1.0})
    mix = MixtureGenerator([(only_lia, 3.0, None), (lia_or_auto, 1.0, None)])
    [cands] = mix.generate(["============================\n1 = 1"], 5)
    p = {t: math.exp(lp) for t, lp in cands}
    # weights normalise to 0.75 / 0.25: p(lia) = 0.75 * 1 + 0.25 * 0.5, p(auto) = 0.25 * 0.5
    assert math.isclose(p["lia."], 0.875) and math.isclose(p["auto."], 0.125)
    assert [t for t, _ in cands] == ["lia.", "auto."]
    assert mix.generate(["a"], 1) == [[("lia.", math.log(0.875))]]
    with pytest.raises(ValueError, match="weights"):
        MixtureGenerator([(only_lia, 0.0, None)])


# ---------------------------------------------------------------- real Coq


@pytest.fixture(scope="module")
def checker():
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings

    with open_checker("coq", CheckerSettings(workers=1)) as c:
        yield c


PROVABLE = [
    Theorem("t_nat", "Theorem t_nat : forall a b : nat, a + b = b + a."),
    Theorem("t_mixed", "Theorem t_mixed : forall x : R, 0 <= x * x + 1 /\\ (exists n : nat, n = 3%nat).", REALS),
    Theorem("t_and", "Theorem t_and : forall P Q : Prop, P -> Q -> Q /\\ P."),
]


@pytest.mark.coq
@pytest.mark.parametrize("theorem", PROVABLE, ids=lambda t: t.name)
def test_every_proof_search_returns_is_accepted_by_the_checker(checker, theorem):
    outcome = BestFirstSearchProver(ModelFreeGenerator()).search(theorem, checker, Budget(wall_s=30))
    outcome.tree.check_invariants()
    result = outcome.result
    assert result.verdict is Verdict.PROVED, result.reason
    assert result.check is not None and result.check.proved
    assert checker.check(theorem, result.proof).proved  # independently, once more
    assert {"model", "retrieval", "checker"} <= set(result.timings)
    assert result.timings["checker"] > 0 and result.extra["tree"]["nodes"] >= 2
    # the checker's time broken down by call to coqidetop (ProofSession.call_seconds): inside it
    calls = {name: t for name, t in result.timings.items() if name.startswith("checker_")}
    assert calls["checker_goals"] > 0 and calls["checker_add"] > 0
    assert sum(t for name, t in calls.items() if name != "checker_goals_parse") <= result.timings["checker"] + 1e-3
    assert set(result.timings) - {"model", "retrieval", "checker"} == set(calls)  # the model-free part times nothing


@pytest.mark.coq
def test_no_proof_within_budget_is_failed_not_an_exception(checker):
    false = Theorem("t_false", "Theorem t_false : forall n : nat, n * n = n + 1.")
    outcome = make_prover("model-free-search").search(false, checker, Budget(wall_s=5, expansions=3))
    outcome.tree.check_invariants()
    result = outcome.result
    assert result.verdict in (Verdict.FAILED, Verdict.TIMEOUT) and result.proof is None
    assert result.extra["expansions"] <= 3 and result.reason
    outcome = make_prover("model-free-search").search(false, checker, Budget(wall_s=1.5))
    outcome.tree.check_invariants()  # stopped in the middle of an expansion
    wall = outcome.result
    assert not wall.proved and wall.time_s < 1.5 + 10  # the last tactic may overrun by its timeout


@pytest.mark.coq
def test_a_proof_found_when_the_expansion_limit_fires_is_kept(checker):
    # one expansion allowed; the proving tactic is the last candidate of that expansion
    gen = ModelFreeGenerator(automation={"simpl.": 3.0, "auto.": 2.0, "lia.": 0.5})
    theorem = Theorem("t_last", "Theorem t_last : forall a b : nat, a + b + 0 = b + a.")
    outcome = BestFirstSearchProver(gen).search(theorem, checker, Budget(wall_s=30, expansions=1, tactics_per_expansion=3))
    assert outcome.result.proved and outcome.result.proof == "lia."
    assert outcome.result.extra["expansions"] == 1
    outcome.tree.check_invariants()


@pytest.mark.coq
def test_retrieved_premises_reach_the_generator_and_prove(checker):
    premise = RetrievedPremise("Nat.add_comm", "forall n m : nat, n + m = m + n", 1.0)
    retriever = FixedRetriever([premise], delay_s=0.01)
    # automation restricted so that only the premise can close the goal
    prover = BestFirstSearchProver(ModelFreeGenerator(automation={"simpl.": 1.0}), retriever=retriever)
    theorem = Theorem("t_prem", "Theorem t_prem : forall a b : nat, a + b = b + a.", "Require Import Arith.\n")
    result = prover.prove(theorem, checker, Budget(wall_s=30, tactics_per_expansion=6))
    assert result.proved and "Nat.add_comm" in result.proof
    assert retriever.calls >= 1 and result.timings["retrieval"] >= 0.009 * retriever.calls  # every call is timed


@pytest.mark.coq
def test_tree_exports_to_json_dot_and_png(checker, tmp_path):
    outcome = BestFirstSearchProver(ModelFreeGenerator()).search(PROVABLE[1], checker, Budget(wall_s=30))
    outcome.tree.check_invariants()
    tree = outcome.tree.to_json()
    assert tree["proof"] == outcome.result.proof.splitlines()
    assert {n["kind"] for n in tree["nodes"]} >= {"internal", "finished", "error"}
    paths = save_tree(tree, tmp_path / "tree")
    assert json.loads(paths[0].read_text())["root"] == 0
    assert to_dot(tree).startswith("digraph") and "darkgreen" in paths[1].read_text()
    assert paths[2].read_bytes()[:4] == b"\x89PNG"


@pytest.mark.coq
def test_a_statement_that_does_not_compile_is_an_error_result(checker):
    bad = Theorem("t_bad", "Theorem t_bad : undefined_thing = 1.")
    result = make_prover("model-free-search").prove(bad, checker, Budget(wall_s=5))
    assert result.verdict is Verdict.ERROR and "does not compile" in result.reason


def test_registry_refuses_unknown_provers_and_options():
    with pytest.raises(ProverOptionError, match="unknown prover"):
        make_prover("nope")
    with pytest.raises(ProverOptionError, match="takes no option model"):
        make_prover("model-free-search", model="x")
    assert make_prover("model-free-search", model=None).name == "model-free-search"
    with pytest.raises(ProverOptionError, match="automation_share"):
        make_prover("search", automation_share=1.0)


def test_registry_routes_models_and_whole_proof_backends():
    from proofsmith.prover.registry import PROVERS, default_prover, takes_model, unsuitable

    assert default_prover("coq", None) == "model-free-search" and default_prover("lean", "m") == "search"
    assert default_prover("fstar", None) == default_prover("fstar", "m") == "sample"
    assert [p for p in PROVERS if takes_model(p)] == ["search", "sample", "portfolio+search"]
    assert unsuitable("search", "fstar") == "F* checks whole definitions, with no tactic steps"
    assert unsuitable("sample", "fstar") is None and unsuitable("search", "coq") is None


def test_the_registry_refuses_a_caller_generator_next_to_model_options_or_for_a_model_free_prover():
    stand_in = ModelFreeGenerator()
    with pytest.raises(ProverOptionError, match="model_generator is the model; the options device, model would load"):
        make_prover("search", model_generator=stand_in, model="runs/sft/final", device="cpu")
    with pytest.raises(ProverOptionError, match="'portfolio' runs no language model, so it takes no model_generator"):
        make_prover("portfolio", model_generator=stand_in)
    with pytest.raises(ProverOptionError, match="the sample prover needs a language-model generator, not ModelFreeGenerator"):
        make_prover("sample", model_generator=stand_in)


@pytest.mark.coq
def test_search_with_a_caller_generator_searches_with_it_and_proves(checker):
    stand_in = ModelFreeGenerator()
    prover = make_prover("search", model_generator=stand_in, automation_share=0.0)
    assert prover.generator is stand_in  # automation_share=0: the caller's generator alone
    theorem = Theorem("t_given", "Theorem t_given : forall n : nat, n + 0 = n.")
    result = prover.prove(theorem, checker, Budget(wall_s=20))
    assert result.proved and checker.check(theorem, result.proof).proved


@pytest.mark.coq
def test_portfolio_then_search_gives_the_search_what_the_portfolio_left(checker):
    from proofsmith.prover.sequence import ProverSequence

    portfolio_only_misses = Theorem("t_seq", "Theorem t_seq : forall P Q : Prop, P -> Q -> Q /\\ P.")
    # a one-tactic portfolio that cannot prove it, then model-free search that can
    from proofsmith.prover.portfolio import PortfolioProver

    sequence = ProverSequence([(PortfolioProver(("lia.",)), 0.25), (make_prover("model-free-search"), 1.0)])
    assert sequence.name == "portfolio+model-free-search"
    result = sequence.prove(portfolio_only_misses, checker, Budget(wall_s=20))
    assert result.proved and result.extra["proved_by"] == "model-free-search"
    assert checker.check(portfolio_only_misses, result.proof).proved
    assert len(result.attempts) == 1 and result.attempts[0].verdict is Verdict.PROVED
    # the portfolio proves an easy one and the search never runs
    easy = Theorem("t_easy", "Theorem t_easy : 2 + 2 = 4.")
    result = sequence.prove(easy, checker, Budget(wall_s=20))
    assert result.proved and result.extra["proved_by"] == "portfolio" and "model-free-search" not in result.extra
    # a step that does not know the theorem's backend is left out, never run
    lean = Theorem("t_lean", "theorem t_lean : 1 + 1 = 2", backend="lean")
    only_coq = ProverSequence([(PortfolioProver(("lia.",)), 0.5)])
    result = only_coq.prove(lean, checker, Budget(wall_s=5))
    assert result.verdict is Verdict.ERROR and "knows the backend lean" in result.reason
    with pytest.raises(ProverOptionError, match="portfolio_share"):
        make_prover("portfolio+search", portfolio_share=1.5)
