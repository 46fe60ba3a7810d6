"""Sampled search against real Coq: at sample_temperature > 0 attempts with different seeds try tactics in a
different order (and so find different proofs), the same seed repeats itself, and at 0 the seed changes nothing."""

import pytest

from proofsmith.checker.types import Theorem
from proofsmith.prover.base import Budget
from proofsmith.prover.generators.base import TacticCandidate, TacticGenerator
from proofsmith.prover.registry import ProverOptionError, check_prover
from proofsmith.prover.search import BestFirstSearchProver

pytestmark = pytest.mark.coq

ADD_COMM = Theorem("t_add_comm", "Theorem t_add_comm : forall a b : nat, a + b = b + a.", "Require Import Lia.\n")
# Each closes the goal alone; equal scores, so at T = 0 the proposed order decides and the first one wins.
PROOFS = ("lia.", "intros; lia.", "intros a b; lia.", "intros a; lia.", "intros x y; lia.", "intros; simpl; lia.")


class FixedGenerator(TacticGenerator):
    """The same candidates for every goal, in a fixed order (a deterministic generator, like the tactic memory)."""

    name = "fixed"

    def __init__(self, tactics):
        self.candidates = [TacticCandidate(t, -1.0) for t in tactics]

    def propose(self, request):
        return [list(self.candidates) for _ in request.goals]


@pytest.fixture(scope="module")
def checker():
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings

    with open_checker("coq", CheckerSettings(workers=1)) as c:
        yield c


def tried(checker, temperature, seed, tactics=PROOFS):
    """The proof one search finds and the tactics it ran at the root, in order."""
    outcome = BestFirstSearchProver(FixedGenerator(tactics), sample_temperature=temperature).search(
        ADD_COMM, checker, Budget(wall_s=30, seed=seed))
    outcome.tree.check_invariants()
    assert outcome.result.proved
    return outcome.result.proof, [e.tactic for e in outcome.tree.root.out_edges]


def test_at_temperature_zero_the_seed_changes_nothing(checker):
    runs = [tried(checker, 0.0, seed) for seed in (0, 1, 2)]
    assert runs == [("lia.", ["lia."])] * 3


def test_at_a_positive_temperature_seeds_order_the_tactics_differently(checker):
    # a failing tactic first in the proposed order: its edge is recorded, so the root's edges show the order tried
    tactics = ("exact I.", *PROOFS)
    runs = {seed: tried(checker, 1.0, seed, tactics) for seed in range(6)}
    assert len({edges[0] for _, edges in runs.values()}) >= 2, runs
    assert len({proof for proof, _ in runs.values()}) >= 2, runs
    for proof, edges in runs.values():
        assert edges[-1] == proof and all(e == "exact I." for e in edges[:-1])
    assert tried(checker, 1.0, 3, tactics) == runs[3]  # a seed repeats its search exactly


def test_attempts_of_prove_get_their_own_seeds(checker):
    prover = BestFirstSearchProver(FixedGenerator(PROOFS), sample_temperature=1.0)
    result = prover.prove(ADD_COMM, checker, Budget(wall_s=60, attempts=6, seed=0))
    assert result.proved and len(result.attempts) == 6
    assert len({a.proof for a in result.attempts}) >= 2, [a.proof for a in result.attempts]
    deterministic = BestFirstSearchProver(FixedGenerator(PROOFS)).prove(ADD_COMM, checker,
                                                                          Budget(wall_s=20, attempts=2, seed=0))
    assert [a.proof for a in deterministic.attempts] == ["lia.", "lia."]


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), "1", True])
def test_a_bad_temperature_is_refused(bad):
    with pytest.raises(ValueError, match="sample_temperature must be a number at least 0"):
        BestFirstSearchProver(FixedGenerator(PROOFS), sample_temperature=bad)
    with pytest.raises(ProverOptionError, match="sample_temperature must be a number at least 0"):
        check_prover("memory-search", {"sample_temperature": bad})
