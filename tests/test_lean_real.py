"""The Lean backend against a real Lean REPL; skipped, with the reason, where no toolchain exists.

Point proofsmith at one with PROOFSMITH_LEAN_REPL (and PROOFSMITH_LEAN_PROJECT_DIR
for a Mathlib project); the Mathlib tests run only when a project is set.
"""

import os

import pytest

from proofsmith.checker.backend import CheckerUnavailable
from proofsmith.checker.lean.session import LeanSession
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import NextState, ProofFinished, TacticError, Theorem, Verdict

pytestmark = pytest.mark.lean  # skipped, with the reason, where lake is not on PATH


@pytest.fixture(scope="module")
def settings():
    return CheckerSettings(timeout_s=120)


@pytest.fixture(scope="module")
def session(settings):
    try:
        s = LeanSession(settings)
    except CheckerUnavailable as exc:
        pytest.skip(f"lake is installed but the REPL is not usable: {exc}")
    yield s
    s.close()


CORE_HONEST = [
    ("theorem add_zero' (n : Nat) : n + 0 = n", "simp"),
    ("theorem two_two : 2 + 2 = 4", ":= rfl"),
    ("theorem em' (p : Prop) : p ∨ ¬p", "exact Classical.em p"),
    ("theorem and_swap' (p q : Prop) (h : p ∧ q) : q ∧ p", "theorem and_swap' (p q : Prop) (h : p ∧ q) : q ∧ p := by\n  exact ⟨h.2, h.1⟩"),
]


@pytest.mark.parametrize("statement,proof", CORE_HONEST)
def test_honest_proofs_are_proved(session, settings, statement, proof):
    result = session.check(Theorem(statement.split()[1], statement, ""), proof)
    assert result.verdict is Verdict.PROVED, result.reason
    assert set(result.axioms) <= set(settings.lean_allowed_axioms)


CORE_CHEATS = [
    ("theorem ex : False", "exact ex", "termination"),
    ("theorem ex2 : False", "by exact?", "exact?"),
    ("theorem bad : 1 = 2", "decide", ""),
    ("theorem open_goal (p q : Prop) (hp : p) : p ∧ q", "constructor\nexact hp", "unsolved goals"),
    ("theorem ill_typed : False", ":= trivial", ""),
]


@pytest.mark.parametrize("statement,proof,reason", CORE_CHEATS)
def test_lean_refuses_what_the_guard_cannot_see(session, statement, proof, reason):
    result = session.check(Theorem(statement.split()[1], statement, ""), proof)
    assert result.verdict is Verdict.FAILED and reason in result.reason


def test_header_axioms_belong_to_the_problem(session):
    header = "axiom magic : 1 = 2"
    result = session.check(Theorem("uses_magic", "theorem uses_magic : 1 = 2", header), "exact magic")
    assert result.verdict is Verdict.PROVED and result.axioms == ("magic",)


def test_interactive_search_goes_back(session):
    root = session.open(Theorem("swap", "theorem swap (p q : Prop) (h : p ∧ q) : q ∧ p", ""))
    assert root.goals[0].target == "q ∧ p"
    split = session.run(root, "constructor")
    assert isinstance(split, NextState) and len(split.state.goals) == 2
    assert isinstance(session.run(split.state, "exact h.1"), TacticError)
    assert isinstance(session.run(root, "exact ⟨h.2, h.1⟩"), ProofFinished)


@pytest.mark.skipif(not os.environ.get("PROOFSMITH_LEAN_PROJECT_DIR"), reason="no Mathlib project (PROOFSMITH_LEAN_PROJECT_DIR)")
def test_mathlib_proof_and_native_decide_switch(settings):
    theorem = Theorem("amgm2", "theorem amgm2 (a b : ℝ) : a ^ 2 + b ^ 2 ≥ 2 * a * b", "import Mathlib")
    with LeanSession(settings) as session:
        assert session.check(theorem, "nlinarith [sq_nonneg (a - b)]").verdict is Verdict.PROVED
        native = Theorem("big", "theorem big : 2 ^ 20 % 7 = 4", "import Mathlib")
        assert session.check(native, "native_decide").verdict is Verdict.FAILED
    allowed = settings.model_copy(update={"lean_allow_native_decide": True})
    with LeanSession(allowed) as session:
        result = session.check(native, "native_decide")
        assert result.verdict is Verdict.PROVED and "Lean.ofReduceBool" in result.axioms
