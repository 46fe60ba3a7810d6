"""The adversarial suite: cheating attempts that must all be rejected, and honest
proofs that must all be accepted, against real Coq."""

import json
from pathlib import Path

import pytest

from proofsmith.checker.pool import PooledChecker
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import ProofTask, Theorem, Verdict

pytestmark = pytest.mark.coq

R = "Require Import Reals.\nOpen Scope R_scope.\n"

# The suites live in tests/fixtures/coq_soundness/cases.jsonl so that
# bench/axiom_differential.py checks the same proofs: one record per case,
# {name, header, statement, proof, expect: proved|rejected, why, found}.
CASES_FILE = Path(__file__).parent / "fixtures" / "coq_soundness" / "cases.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
CHEATS = [c for c in CASES if c["expect"] == "rejected"]
HONEST = [c for c in CASES if c["expect"] == "proved"]
ADMITTED_HELPER = "Lemma helper : False. Admitted.\n"


def _task(case: dict, timeout_s: float | None = None) -> ProofTask:
    return ProofTask(Theorem(case["name"], case["statement"], case["header"]), case["proof"], timeout_s)


HEADER_AXIOM = "Parameter f : nat -> nat.\nAxiom f_spec : forall n, f n = n.\n"


@pytest.fixture(scope="module")
def checker():
    with PooledChecker(lambda: __import__("proofsmith.checker.coq.session", fromlist=["CoqSession"]).CoqSession(SETTINGS), SETTINGS) as c:
        yield c


SETTINGS = CheckerSettings(workers=2, timeout_s=20)


def test_suite_sizes():
    assert len(CHEATS) >= 70 and len(HONEST) >= 55
    assert {c["found"] for c in CASES} == {"original suite", "issue 12", "issue 14"}


def test_every_cheat_is_rejected_with_a_reason(checker):
    results = checker.check_batch([_task(c, 10.0) for c in CHEATS])
    accepted = [(c["why"], r.axioms) for c, r in zip(CHEATS, results) if r.verdict is Verdict.PROVED]
    assert not accepted
    for c, r in zip(CHEATS, results):
        assert r.reason, f"no reason given for {c['why']!r}"
        # a proof that exhausts Coq's stack or memory is `error`: the process was replaced
        unsound = r.verdict is Verdict.ERROR and "process failed" in r.reason
        assert r.verdict in (Verdict.FAILED, Verdict.TIMEOUT) or unsound, (c["why"], r)


def test_every_honest_proof_is_accepted(checker):
    results = checker.check_batch([_task(c) for c in HONEST])
    rejected = [(c["name"], r.reason) for c, r in zip(HONEST, results) if r.verdict is not Verdict.PROVED]
    assert not rejected


def test_header_assumptions_are_reported_by_qualified_name(checker):
    result = checker.check(Theorem("section_var", "Theorem section_var : n + 1 = 2.",
                                   "Section S.\nVariable n : nat.\nHypothesis Hn : n = 1.\n"), "rewrite Hn. reflexivity.")
    assert result.proved and set(result.axioms) == {"n", "Hn"}
    result = checker.check(Theorem("m", "Theorem m : 1 = 2.", "Module M.\nAxiom m_spec : 1 = 2.\nEnd M.\n"), "exact M.m_spec.")
    assert result.proved and result.axioms == ("Top.M.m_spec",)


def test_deep_classical_axiom_is_seen_when_no_axiom_is_allowed():
    strict = CheckerSettings(workers=1, coq_allowed_axioms=[])
    theorem = Theorem("em_deep", "Theorem em_deep (P : Prop) : P \\/ ~ P.", "Require Import Classical.\n")
    with PooledChecker(lambda: _session(strict), strict) as c:
        result = c.check(theorem, "do 60 apply (@id (P \\/ ~ P)). apply classic.")
    assert result.verdict is Verdict.FAILED
    assert "Coq.Logic.Classical_Prop.classic" in result.reason


def test_an_earlier_proof_cannot_vouch_for_a_later_one(checker):
    """Constants a proof creates (`abstract` sub-proofs) are judged afresh each
    time, never from what an earlier proof with the same names left in a cache."""
    honest = Theorem("t", "Theorem t : True.", ADMITTED_HELPER)
    cheat = Theorem("t", "Theorem t : False.", ADMITTED_HELPER)
    with checker.session() as s:
        assert s.check(honest, "abstract exact I.").proved
        later = s.check(cheat, "abstract exact helper.")
        assert later.verdict is Verdict.FAILED and "Top.helper" in later.reason
        assert s.check(honest, "abstract exact I.").proved


def test_axioms_are_reported_and_match_print_assumptions(checker):
    """The per-constant fast path gives exactly what Coq's own Print Assumptions says."""
    theorem = Theorem("ax_r", "Theorem ax_r (x : R) : 0 < x -> x / 2 < x.", R)
    result = checker.check(theorem, "intros; lra.")
    assert result.proved
    assert "Coq.Reals.ClassicalDedekindReals.sig_forall_dec" in result.axioms
    with checker.session() as s:
        s.load_header(R)
        doc = s._process
        for sentence in (theorem.statement, "intros; lra.", "Qed."):
            doc.append(sentence, 20)
        doc.force(20)
        direct = s._assumptions.by_print_assumptions("Top.ax_r", doc.tip)
    assert set(result.axioms) == {a.name for a in direct}


def test_header_axioms_are_allowed_but_disallowed_library_axioms_are_not():
    theorem = Theorem("uses_spec", "Theorem uses_spec : f 3 = 3.", HEADER_AXIOM)
    classical = Theorem("em", "Theorem em (P : Prop) : P \\/ ~ P.", "Require Import Classical.\n")
    strict = CheckerSettings(workers=1, coq_allowed_axioms=[])
    with PooledChecker(lambda: _session(strict), strict) as c:
        ok = c.check(theorem, "apply f_spec.")
        # Coq's own Print Assumptions traverses the proof term (f_spec 3), not the statement: f is not in it
        assert ok.proved and ok.axioms == ("Top.f_spec",)
        bad = c.check(classical, "apply classic.")
        assert bad.verdict is Verdict.FAILED
        assert "Coq.Logic.Classical_Prop.classic" in bad.reason


def _session(settings):
    from proofsmith.checker.coq.session import CoqSession

    return CoqSession(settings)


def test_nothing_survives_into_the_next_proof(checker):
    """A theorem proved earlier in the same session is not visible to the next proof."""
    first = Theorem("lemma_one", "Theorem lemma_one : 1 = 1.")
    with checker.session() as s:
        assert s.check(first, "reflexivity.").proved
        later = s.check(Theorem("uses_it", "Theorem uses_it : 1 = 1."), "exact lemma_one.")
        assert later.verdict is Verdict.FAILED
        assert "lemma_one" in later.reason


def test_bad_statements_are_errors_not_proofs(checker):
    two = Theorem("two", "Theorem two : True. Axiom a : False.")
    not_theorem = Theorem("d", "Definition d := 1.")
    broken = Theorem("broken", "Theorem broken : undefined_thing = 1.")
    for theorem in (two, not_theorem, broken):
        result = checker.check(theorem, "exact I.")
        assert result.verdict is Verdict.ERROR and result.reason


def test_a_process_out_of_memory_costs_only_its_own_proof():
    """Coq reports "Out of memory." as an ordinary error and carries on in an
    unknown state: the proof that did it is `error`, the process is replaced."""
    from proofsmith.checker.coq.session import CoqSession

    settings = CheckerSettings(workers=1, memory_mb=1500)
    with CoqSession(settings) as s:
        before = s.pid
        hog = s.check(Theorem("t", "Theorem t : 1 = 1."), "pose (l := List.repeat 0 50000000). vm_compute in l. reflexivity.", 60)
        assert hog.verdict is Verdict.ERROR and "Out of memory" in hog.reason
        assert s.pid != before
        for i in range(5):
            assert s.check(Theorem(f"ok{i}", f"Theorem ok{i} : {i} + 1 = S {i}."), "reflexivity.").proved


def test_a_stack_overflow_is_an_error_and_the_process_is_replaced():
    from proofsmith.checker.coq.session import CoqSession

    settings = CheckerSettings(workers=1, coq_stack_mb=8)
    with CoqSession(settings) as s:
        before = s.pid
        deep = s.check(Theorem("t", "Theorem t : 1 = 1."), "idtac.\n" * 40000 + "reflexivity.", 120)
        assert deep.verdict is Verdict.ERROR and "Stack overflow" in deep.reason
        assert s.pid != before
        assert s.check(Theorem("t", "Theorem t : 1 = 1."), "reflexivity.").proved


def test_long_proofs_that_coq_accepts_are_accepted():
    """40,000 sentences: the default stack limit lets coqidetop take what coqc takes."""
    from proofsmith.checker.coq.session import CoqSession

    with CoqSession(CheckerSettings(workers=1)) as s:
        result = s.check(Theorem("t", "Theorem t : 1 = 1."), "idtac.\n" * 40000 + "reflexivity.", 300)
    assert result.proved, result.reason


def test_a_damaged_axiom_cache_is_set_aside_not_trusted(tmp_path):
    from proofsmith.checker.coq.axiom_cache import LibraryAxiomCache

    path = tmp_path / "cache.jsonl"
    path.write_text('{"constant": "Coq.A.a", "axioms": []}\nnot json\n{"constant": "Coq.B.b", "axioms": []}\n')
    cache = LibraryAxiomCache(path)
    assert cache.get("Coq.A.a") is None and cache.get("Coq.B.b") is None
    assert not path.exists() and path.with_suffix(".damaged").exists()
    cache.put("Coq.C.c", frozenset({"Coq.X.ax"}))
    assert LibraryAxiomCache(path).get("Coq.C.c") == frozenset({"Coq.X.ax"})
