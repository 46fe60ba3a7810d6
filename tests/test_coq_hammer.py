"""CoqHammer (issue 15, item 1): its tactics in the portfolio and the model-free search, the
`hammer` tactic's reconstruction in the proof, and proofs that re-check with no ATP.

Tests against real Coq need CoqHammer installed (Debian: libcoq-hammer; the hammer tactic also
eprover/cvc4); elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import shutil

import pytest

from proofsmith.checker.coq import hammer
from proofsmith.checker.settings import DEFAULT_COQ_PRELUDE, HAMMER_PRELUDE, CheckerSettings
from proofsmith.checker.types import Theorem, Verdict
from proofsmith.prover.base import Budget
from proofsmith.prover.portfolio import PortfolioProver, default_portfolio
from proofsmith.prover.registry import ProverOptionError, checker_settings, make_prover

needs_tactics = pytest.mark.skipif(
    shutil.which("coqc") is None or not hammer.tactics_installed(),
    reason="CoqHammer's tactics are not installed (apt-get install libcoq-hammer)",
)
needs_hammer = pytest.mark.skipif(
    shutil.which("coqc") is None or not hammer.hammer_installed(),
    reason=f"the hammer tactic cannot run here: {hammer.missing_reason(need_plugin=True) if shutil.which('coqc') else 'no coqc'}",
)

# What CoqHammer 1.3.2 printed for a list lemma (coqc, E and CVC4 installed).
RECORDED_OUTPUT = """Running provers (8 threads)...
CVC4 (knn-64) succeeded
- dependencies: Lists.List.app_length, Arith.PeanoNat.Nat.add_comm
Reconstructing the proof...
Tactic scongruence succeeded.
Replace the hammer tactic with:
\tscongruence use: app_length, Nat.add_comm.
"""

LIST_LEMMA = Theorem(
    "app_length_comm",
    "Lemma app_length_comm : forall (A : Type) (l1 l2 : list A), length (l1 ++ l2) = length (l2 ++ l1).",
    "Require Import List Arith.",
)
EV_HEADER = "Inductive ev : nat -> Prop := ev0 : ev 0 | evSS n : ev n -> ev (S (S n))."
EV_LEMMA = Theorem("ev_inv", "Theorem ev_inv : forall n, ev (S (S n)) -> ev n.", EV_HEADER)


def test_the_reconstruction_is_read_from_the_hammer_output():
    assert hammer.reconstruction(RECORDED_OUTPUT) == "scongruence use: app_length, Nat.add_comm."
    assert hammer.reconstruction("Eprover found\nNo proof found.\n") is None
    wrapped = "Replace the hammer tactic with:\n\thauto lq: on use: Nat.add_comm,\n\t  Nat.mul_comm, app_length.\nDone.\n"
    assert hammer.reconstruction(wrapped) == "hauto lq: on use: Nat.add_comm, Nat.mul_comm, app_length."


def test_the_hammer_prelude_is_added_only_on_request():
    plain = CheckerSettings()
    assert plain.coq_prelude == DEFAULT_COQ_PRELUDE and not plain.coq_hammer
    with_hammer = plain.with_hammer()
    assert with_hammer.coq_hammer and with_hammer.coq_prelude.endswith(HAMMER_PRELUDE)
    assert with_hammer.with_hammer().coq_prelude == with_hammer.coq_prelude  # idempotent
    assert checker_settings("portfolio", {}, plain) is plain
    assert checker_settings("portfolio", {"hammer": False}, plain) is plain
    assert checker_settings("portfolio", {"hammer": True}, plain).coq_hammer
    for name in ("search", "portfolio+search", "model-free-search"):
        assert checker_settings(name, {"hammer": True}, plain).coq_hammer
    assert not checker_settings("sample", {"hammer": True}, plain).coq_hammer  # sample takes no hammer


def test_the_hammer_option_is_refused_where_coqhammer_is_missing(monkeypatch):
    monkeypatch.setattr(hammer, "missing_reason", lambda need_plugin=False, coqc="coqc": "CoqHammer is not installed")
    with pytest.raises(ProverOptionError, match="hammer: CoqHammer is not installed"):
        make_prover("portfolio", hammer=True)
    with pytest.raises(ProverOptionError, match="hammer must be true or false"):
        make_prover("portfolio", hammer="maybe")
    assert make_prover("portfolio", hammer=False).tactics == default_portfolio()


def test_the_hammer_option_reaches_the_portfolio_and_the_search_of_portfolio_search(monkeypatch):
    from proofsmith.prover.generators.model_free import ModelFreeGenerator

    monkeypatch.setattr(hammer, "missing_reason", lambda need_plugin=False, coqc="coqc": None)
    # no language model in a unit test: the model-free generator stands in for it
    stand_in = ModelFreeGenerator()
    sequence = make_prover("portfolio+search", hammer=True, model_generator=stand_in)
    (portfolio, _), (search, _) = sequence.steps
    assert portfolio.hammer and "sauto." in portfolio.tactics
    assert search.generator.parts[0][0] is stand_in
    automation = search.generator.parts[1][0]
    assert {"sauto.", "hauto.", "qauto."} <= set(automation.automation)
    plain = make_prover("portfolio+search", model_generator=ModelFreeGenerator())
    assert not plain.steps[0][0].hammer and "sauto." not in plain.steps[1][0].generator.parts[1][0].automation


def test_the_hammer_portfolio_adds_sauto_hauto_qauto():
    tactics = default_portfolio(hammer=True)
    assert tactics[: len(default_portfolio())] == default_portfolio()
    assert {"sauto.", "hauto.", "qauto.", "intros; simpl in *; sauto."} <= set(tactics)


@pytest.fixture(scope="module")
def hammer_checker():
    from proofsmith.checker.registry import open_checker

    with open_checker("coq", CheckerSettings(workers=1).with_hammer()) as c:
        yield c


@pytest.mark.coq
@needs_tactics
def test_sauto_proves_and_the_proof_rechecks_with_no_foreign_axiom(hammer_checker):
    sauto_only = PortfolioProver(tactics=("sauto.",))
    result = sauto_only.prove(EV_LEMMA, hammer_checker, Budget(wall_s=30))
    assert result.verdict is Verdict.PROVED, result.reason
    assert result.proof == "sauto."
    again = hammer_checker.check(EV_LEMMA, result.proof)
    assert again.proved and all(a.startswith("Coq.") for a in again.axioms), again.axioms
    # Hammer.Tactics declares no axiom: sauto's proof is closed under the global context
    for proof in ("sauto.", "hauto.", "qauto."):
        assert hammer_checker.check(EV_LEMMA, proof).axioms == ()


@pytest.mark.coq
@needs_tactics
def test_without_the_hammer_prelude_sauto_is_not_a_tactic():
    from proofsmith.checker.registry import open_checker

    with open_checker("coq", CheckerSettings(workers=1)) as plain:
        assert not plain.check(EV_LEMMA, "sauto.").proved


@pytest.mark.coq
@needs_tactics
def test_model_free_search_with_the_hammer_proposes_and_proves_with_sauto(hammer_checker):
    from proofsmith.prover.generators.base import TacticRequest

    prover = make_prover("model-free-search", hammer=True)
    request = TacticRequest(goals=("n : nat\n============================\nev (S (S n)) -> ev n",), k=32)
    tactics = {c.tactic for c in prover.generator.propose(request)[0]}
    assert {"sauto.", "hauto.", "qauto."} <= tactics
    result = prover.prove(EV_LEMMA, hammer_checker, Budget(wall_s=30))
    assert result.verdict is Verdict.PROVED, result.reason
    assert hammer_checker.check(EV_LEMMA, result.proof).proved


@pytest.mark.coq
@pytest.mark.slow  # the hammer: premise selection and two ATPs (20-45 s on two busy cores)
@needs_hammer
def test_the_hammer_reconstruction_goes_into_the_proof_and_rechecks(hammer_checker):
    found = hammer.run_hammer(CheckerSettings().with_hammer().coq_prelude, LIST_LEMMA.header, LIST_LEMMA.statement,
                              timeout_s=150, atp_limit_s=10)
    assert found.tactic is not None, found.log[-2000:]
    assert "hammer" not in found.tactic
    check = hammer_checker.check(LIST_LEMMA, found.tactic)  # the session has no ATP: Hammer.Tactics only
    assert check.proved, check.reason
    assert all(a.startswith("Coq.") for a in check.axioms), check.axioms


@pytest.mark.coq
@needs_tactics
@pytest.mark.parametrize("proof", ["sauto inv: ev.", "hauto lq: on inv: ev.", "intros n H; inversion H; sauto."])
def test_reconstruction_forms_pass_the_guard_with_no_axiom(hammer_checker, proof):
    check = hammer_checker.check(EV_LEMMA, proof)
    assert check.proved and check.axioms == (), check.reason


@pytest.mark.coq
@needs_tactics
def test_a_proof_cannot_call_the_hammer_itself(hammer_checker):
    # the checker's prelude loads the tactic library, not the plugin: no proof depends on an ATP
    check = hammer_checker.check(EV_LEMMA, "hammer.")
    assert not check.proved and "hammer" in check.reason


# miniF2F-Coq valid mathd_algebra_15: the plain portfolio's 48 tactics all fail (in about 1 s), qauto proves it.
MATHD_ALGEBRA_15 = Theorem(
    "mathd_algebra_15",
    "Theorem mathd_algebra_15 (s : nat -> nat -> nat)\n"
    "  (h0 : forall a b, 0 < a -> 0 < b -> s a b = a ^ b + b ^ a) :\n  s 2 6 = 100.",
    "Require Import Nat.\nRequire Import Arith.\n",
)


@pytest.mark.coq
@needs_tactics
def test_the_portfolio_with_the_hammer_proves_what_the_plain_one_does_not(hammer_checker):
    from proofsmith.checker.registry import open_checker

    with open_checker("coq", CheckerSettings(workers=1)) as plain:
        without = make_prover("portfolio").prove(MATHD_ALGEBRA_15, plain, Budget(wall_s=20))
    assert without.verdict is Verdict.FAILED, without.reason
    with_hammer = make_prover("portfolio", hammer=True).prove(MATHD_ALGEBRA_15, hammer_checker, Budget(wall_s=20))
    assert with_hammer.verdict is Verdict.PROVED, with_hammer.reason
    assert with_hammer.proof in {"qauto.", "hauto.", "sauto."}
    again = hammer_checker.check(MATHD_ALGEBRA_15, with_hammer.proof)
    assert again.proved and again.axioms == ()


@pytest.mark.coq
@pytest.mark.slow  # the hammer runs (about 25 s here)
@needs_hammer
def test_the_portfolio_runs_the_hammer_when_its_tactics_fail_and_keeps_the_reconstruction(hammer_checker):
    result = make_prover("portfolio", hammer=True).prove(LIST_LEMMA, hammer_checker, Budget(wall_s=150))
    assert result.verdict is Verdict.PROVED, result.reason
    assert result.extra["hammer_runs"] == 1 and result.extra["hammer_reconstructions"] == 1
    assert "hammer" not in result.proof and "use:" in result.proof  # e.g. scongruence use: app_length, Nat.add_comm.
    assert hammer_checker.check(LIST_LEMMA, result.proof).proved
