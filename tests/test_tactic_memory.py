"""The tactic memory (prover.tactic_memory), its generator, and what it proves in search.

Real encoder (all-MiniLM-L6-v2, shipped offline), real FAISS, real Coq where a
search runs. The memories are built from small trace folders written here,
and from the traced fixture library (tests/fixtures/tracelib) for the no-leak
check.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from proofsmith.prover.generators.tactic_memory import TacticMemoryGenerator
from proofsmith.prover.hypothesis_renaming import adapt_tactic, hypotheses, hypothesis_mapping
from proofsmith.prover.proof_examples import ProofExample
from proofsmith.prover.tactic_memory import (
    MemoryHit,
    TacticMemory,
    TacticMemoryError,
    memory_encoder,
    state_key,
)

SEP = "============================"


def goal(hyps: str, target: str) -> str:
    return f"{hyps}\n{SEP}\n{target}" if hyps else f"{SEP}\n{target}"


REV_BOOL = goal("", "forall l : list bool, rev (rev l) = l")
REV_BOOL_1 = goal("ys : list bool", "rev (rev ys) = ys")
ADD_0 = goal("", "forall n : nat, n + 0 = n")
ADD_0_1 = goal("n : nat", "n + 0 = n")
LE_ANTI = goal("a, b : nat\nHab : a <= b\nHba : b <= a", "a = b")


def _theorem(name: str, steps: list[tuple[str, str]], file_path: str = "theories/X.v") -> dict:
    return {
        "url": "", "commit": "", "file_path": file_path, "full_name": name, "start": [1, 1], "end": [2, 1],
        "traced_tactics": [{"tactic": t, "annotated_tactic": [t, []], "state_before": s, "state_after": ""}
                           for s, t in steps],
    }


TRAIN = [
    _theorem("Lib.rev_rev_bool", [(REV_BOOL, "intros ys."), (REV_BOOL_1, "exact (rev_involutive ys).")]),
    _theorem("Lib.add_0", [(ADD_0, "intros n."), (ADD_0_1, "rewrite <- plus_n_O.")]),
    _theorem("Lib.le_anti", [(LE_ANTI, "apply Nat.le_antisymm; [exact Hab | exact Hba].")]),
]
TEST = [_theorem("Lib.held_out", [(goal("", "forall b : bool, negb (negb b) = b"), "destruct b; reflexivity.")])]


def write_trace(root: Path, train: list[dict] = TRAIN, test: list[dict] = TEST) -> Path:
    for strategy in ("random", "novel_premises"):
        (root / strategy).mkdir(parents=True, exist_ok=True)
        (root / strategy / "train.json").write_text(json.dumps(train))
        (root / strategy / "test.json").write_text(json.dumps(test))
    return root


@pytest.fixture(scope="module")
def encoder():
    return memory_encoder()


@pytest.fixture
def memory(tmp_path, encoder):
    return TacticMemory.from_trace(write_trace(tmp_path / "trace"), "random", encoder=encoder, cache_dir=tmp_path / "cache")


# ---------------------------------------------------------------- hypothesis names


def test_hypotheses_are_read_from_coq_printing():
    state = goal("n, m : nat\nH : n <=\n  m\nx := 3 : nat", "n = m") + "\n\n" + goal("k : nat", "True")
    assert hypotheses(state) == [("n", "nat"), ("m", "nat"), ("H", "n <= m"), ("x", "nat")]
    assert hypotheses(goal("", "True")) == []


def test_names_map_by_type_then_by_position_from_the_end():
    goal_state = goal("x, y : nat\nHxy : x <= y\nHyx : y <= x", "x = y")
    assert hypothesis_mapping(LE_ANTI, goal_state) == {"a": "x", "b": "y", "Hab": "Hxy", "Hba": "Hyx"}
    assert adapt_tactic("apply Nat.le_antisymm; [exact Hab | exact Hba].", LE_ANTI, goal_state) == (
        "apply Nat.le_antisymm; [exact Hxy | exact Hyx].")
    # the types differ (list bool, list nat): the last hypothesis stands in for the last
    assert adapt_tactic("exact (rev_involutive ys).", REV_BOOL_1, goal("xs : list nat", "rev (rev xs) = xs")) == (
        "exact (rev_involutive xs).")
    # names the goal has with the same type stay; qualified names and unrelated words are untouched
    assert adapt_tactic("rewrite <- plus_n_O.", ADD_0_1, goal("n : nat", "n + 0 = n")) == "rewrite <- plus_n_O."
    assert adapt_tactic("apply H.", goal("H : n = 0", "P"), goal("n : nat\nH : n = 0", "P")) == "apply H."


def test_a_tactic_naming_a_hypothesis_the_goal_cannot_supply_is_dropped():
    assert adapt_tactic("exact H.", goal("H : False", "P"), goal("", "P")) is None
    # a name the tactic introduces (not a hypothesis of the memory state) is kept as is
    assert adapt_tactic("intros ys.", REV_BOOL, goal("", "forall xs : list nat, rev (rev xs) = xs")) == "intros ys."


# ---------------------------------------------------------------- the memory


def test_memory_holds_the_train_steps_and_finds_the_nearest(memory):
    assert len(memory) == 5
    assert memory.theorems() == {"Lib.rev_rev_bool", "Lib.add_0", "Lib.le_anti"}
    hits = memory.nearest(goal("xs : list nat", "rev (rev xs) = xs"), 3)
    assert isinstance(hits[0], MemoryHit) and hits[0].tactic == "exact (rev_involutive ys)."
    assert hits[0].theorem == "Lib.rev_rev_bool" and hits[0].state == REV_BOOL_1
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert memory.nearest(ADD_0_1, 1)[0].score == pytest.approx(1.0, abs=1e-4)
    assert len(memory.nearest(ADD_0, 50)) == 5


def test_similar_proofs_are_whole_proofs_of_distinct_theorems_with_exclusion(memory):
    proofs = memory.similar_proofs(goal("", "forall xs : list nat, rev (rev xs) = xs"), 2)
    assert proofs[0] == ProofExample("Lib.rev_rev_bool", REV_BOOL, ("intros ys.", "exact (rev_involutive ys)."))
    assert len(proofs) == 2 and len({p.theorem for p in proofs}) == 2
    left_out = memory.similar_proofs(REV_BOOL, 3, exclude={"Lib.rev_rev_bool"})
    assert "Lib.rev_rev_bool" not in {p.theorem for p in left_out} and len(left_out) == 2


def test_add_proof_is_found_at_once_and_save_load_round_trips(memory, tmp_path, encoder):
    new_state = goal("l : list nat", "length (l ++ l) = length l + length l")
    memory.add_proof("Mine.app_length_twice", [(new_state, "apply app_length.")])
    assert len(memory) == 6 and memory.learned == 1
    assert memory.nearest(new_state, 1)[0] == MemoryHit(pytest.approx(1.0, abs=1e-4), new_state, "apply app_length.",
                                                        "Mine.app_length_twice")
    memory.save(tmp_path / "saved")
    loaded = TacticMemory.load(tmp_path / "saved", encoder=encoder)
    assert len(loaded) == 6 and loaded.theorems() == memory.theorems()
    assert loaded.proof("Mine.app_length_twice") == ProofExample("Mine.app_length_twice", new_state, ("apply app_length.",))
    assert [h.tactic for h in loaded.nearest(REV_BOOL_1, 5)] == [h.tactic for h in memory.nearest(REV_BOOL_1, 5)]


def test_a_second_build_is_read_from_the_cache(tmp_path, encoder, monkeypatch):
    trace = write_trace(tmp_path / "trace")
    TacticMemory.from_trace(trace, "random", encoder=encoder, cache_dir=tmp_path / "cache")
    (entry,) = (p for p in (tmp_path / "cache").iterdir() if p.is_dir())
    assert (entry / "meta.json").is_file()
    encoded: list[int] = []
    real_encode = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda texts, **kw: encoded.append(len(texts)) or real_encode(texts, **kw))
    again = TacticMemory.from_trace(trace, "random", encoder=encoder, cache_dir=tmp_path / "cache")
    assert len(again) == 5 and encoded == []
    # another train file is another cache entry
    write_trace(trace, train=TRAIN[:1])
    assert len(TacticMemory.from_trace(trace, "random", encoder=encoder, cache_dir=tmp_path / "cache")) == 2
    assert len([p for p in (tmp_path / "cache").iterdir() if p.is_dir()]) == 2


def test_bad_inputs_are_named(tmp_path, encoder):
    with pytest.raises(TacticMemoryError, match="unknown split 'random/test'.*choose one of random, novel_premises"):
        TacticMemory.from_trace(tmp_path, "random/test", encoder=encoder)
    with pytest.raises(TacticMemoryError, match=f"trace folder '{tmp_path / 'nope'}' does not exist"):
        TacticMemory.from_trace(tmp_path / "nope", "random", encoder=encoder)
    with pytest.raises(TacticMemoryError, match=f"'{tmp_path / 'random' / 'train.json'}' does not exist"):
        TacticMemory.from_trace(tmp_path, "random", encoder=encoder)
    with pytest.raises(TacticMemoryError, match="is not a saved tactic memory"):
        TacticMemory.load(tmp_path, encoder=encoder)


def test_state_key_puts_the_conclusion_first():
    assert state_key(goal("n : nat", "n = n") + "\n\n" + goal("", "True")) == "n = n\nn : nat"


# ---------------------------------------------------------------- the generator


def test_generator_gives_proper_log_probabilities_and_adapted_names(memory):
    gen = TacticMemoryGenerator(memory)
    assert gen.name == "tactic-memory" and not gen.costly and not gen.uses_premises
    (candidates,) = gen.generate([goal("xs : list nat", "rev (rev xs) = xs")], k=8)
    assert candidates[0].tactic == "exact (rev_involutive xs)."
    assert all(c.logprob <= 0 for c in candidates)
    assert sum(math.exp(c.logprob) for c in candidates) <= 1.0 + 1e-9
    assert [c.logprob for c in candidates] == sorted((c.logprob for c in candidates), reverse=True)
    # a step whose hypotheses the goal cannot supply is not proposed
    (bare,) = gen.generate([goal("", "a = b")], k=8)
    assert all("Hab" not in c.tactic for c in bare)


def test_generator_learns_only_online(memory):
    TacticMemoryGenerator(memory, online=False).learn("X.x", [(ADD_0, "lia.")])
    assert len(memory) == 5
    TacticMemoryGenerator(memory).learn("X.x", [(ADD_0, "lia.")])
    assert len(memory) == 6


# ---------------------------------------------------------------- in search, against real Coq

from proofsmith.checker.types import Theorem, Verdict  # noqa: E402
from proofsmith.prover.base import Budget  # noqa: E402
from proofsmith.prover.generators.mixture import MixtureGenerator  # noqa: E402
from proofsmith.prover.generators.model_free import ModelFreeGenerator  # noqa: E402
from proofsmith.prover.premises import RetrievedPremise  # noqa: E402
from proofsmith.prover.search import BestFirstSearchProver  # noqa: E402

LIST = "From Coq Require Import List."
REV_NAT = Theorem("rev_rev_nat", "Theorem rev_rev_nat : forall xs : list nat, rev (rev xs) = xs.", LIST)
# Bounded by expansions, not wall time: on a loaded machine a 15 s wall budget was spent before
# the memory's proof was reached (the encoder alone took seconds per query).
SHORT = Budget(wall_s=120, expansions=3, tactic_timeout_s=5)


@pytest.fixture(scope="module")
def checker():
    from proofsmith.checker.registry import open_checker
    from proofsmith.checker.settings import CheckerSettings

    with open_checker("coq", CheckerSettings(workers=1)) as c:
        yield c


def memory_search(memory: TacticMemory, online: bool = True, retriever=None) -> BestFirstSearchProver:
    """What the registry's memory-search builds, on a memory of the test's choosing."""
    generator = MixtureGenerator([
        (TacticMemoryGenerator(memory, online=online), 0.5, 16), (ModelFreeGenerator(), 0.5, 32)])
    return BestFirstSearchProver(generator, retriever=retriever, tactics_per_expansion=48)


@pytest.mark.coq
def test_the_memory_proves_what_the_model_free_generator_alone_does_not(checker, memory):
    alone = BestFirstSearchProver(ModelFreeGenerator(), tactics_per_expansion=32).search(REV_NAT, checker, SHORT)
    assert not alone.result.proved
    outcome = memory_search(memory, online=False).search(REV_NAT, checker, SHORT)
    outcome.tree.check_invariants()
    assert outcome.result.proved, outcome.result.reason
    # the memorised `exact (rev_involutive ys).`, adapted to the goal's own hypothesis
    assert "rev_involutive" in outcome.result.proof
    assert checker.check(REV_NAT, outcome.result.proof).proved


@pytest.mark.coq
def test_attempts_of_one_theorem_do_not_see_each_others_proofs(checker, memory):
    prover = memory_search(memory, online=True)
    result = prover.prove(REV_NAT, checker, Budget(wall_s=240, attempts=2, expansions=3, tactic_timeout_s=5))
    assert result.proved and len(result.attempts) == 2
    assert all(a.verdict is Verdict.PROVED for a in result.attempts)  # each found it on its own
    assert memory.learned == len(memory.proof("rev_rev_nat").tactics)  # learned once, after both


class PremisesFor:
    """A retriever that knows premises for some theorems only."""

    def __init__(self, premises: dict[str, list[RetrievedPremise]]):
        self.premises = premises

    def retrieve(self, goal: str, theorem: Theorem, k: int) -> list[RetrievedPremise]:
        return self.premises.get(theorem.name, [])[:k]


@pytest.mark.coq
@pytest.mark.slow
def test_online_learning_a_proof_found_helps_the_next_theorem(checker, tmp_path, encoder):
    # A is provable with a premise only A's retriever knows; B (the same fact on another type) has none.
    a = Theorem("A", "Theorem A : forall l : list nat, rev (rev l) = l.", LIST)
    b = Theorem("B", "Theorem B : forall bs : list bool, rev (rev bs) = bs.", LIST)
    retriever = PremisesFor({"A": [RetrievedPremise("rev_involutive", "forall l, rev (rev l) = l", 1.0)]})
    unrelated = write_trace(tmp_path / "trace", train=[TRAIN[2]])

    def fresh() -> TacticMemory:
        return TacticMemory.from_trace(unrelated, "random", encoder=encoder, cache_dir=tmp_path / "cache")

    offline = memory_search(fresh(), online=False, retriever=retriever)
    assert offline.search(a, checker, SHORT).result.proved
    assert not offline.search(b, checker, SHORT).result.proved

    memory = fresh()
    online = memory_search(memory, online=True, retriever=retriever)
    first = online.search(a, checker, SHORT).result
    assert first.proved and "A" in memory.theorems() and memory.learned >= 1
    second = online.search(b, checker, SHORT).result
    assert second.proved, second.reason
    assert "rev_involutive" in second.proof


# ---------------------------------------------------------------- the registry


def test_memory_search_is_a_registered_prover_and_names_bad_memories(tmp_path, memory):
    from proofsmith.prover.registry import PROVERS, ProverOptionError, benchmark_defaults, make_prover

    assert "memory-search" in PROVERS
    memory.save(tmp_path / "saved")
    prover = make_prover("memory-search", memory=str(tmp_path / "saved"), memory_share=0.4)
    assert prover.name == "memory-search" and prover.generator.name.startswith("mixture(tactic-memory:0.40")
    with pytest.raises(ProverOptionError, match="memory-search needs memory=TRACE_DIR"):
        make_prover("memory-search")
    with pytest.raises(ProverOptionError, match=f"memory '{tmp_path / 'nope'}': .*trace folder .* does not exist"):
        make_prover("memory-search", memory=str(tmp_path / "nope"))
    with pytest.raises(ProverOptionError, match="memory_share must be in \\(0, 1\\)"):
        make_prover("memory-search", memory=str(tmp_path / "saved"), memory_share=1.5)
    with pytest.raises(ProverOptionError, match="memory_online must be true or false"):
        make_prover("memory-search", memory=str(tmp_path / "saved"), memory_online="maybe")
    # on coq-library the memory defaults to the benchmark's trace and the split's strategy
    assert benchmark_defaults("memory-search", {}, "coq-library", "/t", "novel_premises/test") == {
        "memory": "/t", "memory_split": "novel_premises"}
    assert benchmark_defaults("memory-search", {"memory": "/m"}, "coq-library", "/t", "random/test") == {"memory": "/m"}
    assert benchmark_defaults("portfolio", {}, "coq-library", "/t", "random/test") == {}
    # the benchmark's own trace named as the memory: the split's strategy, never another one
    assert benchmark_defaults("search", {"memory": "/t/"}, "coq-library", "/t", "novel_premises/test") == {
        "memory": "/t/", "memory_split": "novel_premises"}
    with pytest.raises(ProverOptionError, match="memory_split=random on novel_premises/test would remember"):
        benchmark_defaults("memory-search", {"memory": "/t", "memory_split": "random"}, "coq-library", "/t",
                           "novel_premises/test")
    assert benchmark_defaults("search", {}, "coq-library", "/t", "random/test") == {}
    with pytest.raises(ProverOptionError, match="memory-search on minif2f-coq needs --prover-option memory="):
        benchmark_defaults("memory-search", {}, "minif2f-coq", "/d", "test")


def test_provers_built_in_one_process_share_one_memory(tmp_path, memory):
    from proofsmith.prover.registry import make_prover

    memory.save(tmp_path / "saved")
    one, two = (make_prover("memory-search", memory=str(tmp_path / "saved")) for _ in range(2))
    offline = make_prover("memory-search", memory=str(tmp_path / "saved"), memory_online=False)
    memory_of = lambda p: p.generator.parts[0][0].memory  # noqa: E731
    assert memory_of(one) is memory_of(two) and memory_of(offline) is not memory_of(one)
    one.generator.learn("New.thm", [(ADD_0, "lia.")])
    assert "New.thm" in memory_of(two).theorems() and "New.thm" not in memory_of(offline).theorems()
    offline.generator.learn("Other.thm", [(ADD_0, "lia.")])
    assert "Other.thm" not in memory_of(offline).theorems()


# ---------------------------------------------------------------- no leaks, on a real trace

from .test_coq_library import traced_library  # noqa: E402,F401  (the traced fixture library)


def _split_names(trace: Path, split: str) -> dict[str, list[tuple[str, str]]]:
    data = json.loads((trace / f"{split}.json").read_text())
    return {t["full_name"]: [(s["state_before"], s["tactic"]) for s in t["traced_tactics"]] for t in data}


@pytest.mark.coq
@pytest.mark.parametrize("strategy", ["random", "novel_premises"])
def test_no_test_theorem_and_no_human_test_proof_is_in_the_memory(traced_library, tmp_path, encoder, strategy):
    _, trace = traced_library
    memory = TacticMemory.from_trace(trace, strategy, encoder=encoder, cache_dir=tmp_path / "cache")
    train = _split_names(trace, f"{strategy}/train")
    assert memory.theorems() == {name for name, steps in train.items() if steps}
    remembered = {(h.state, h.tactic) for state in memory.states() for h in memory.nearest(state, len(memory))}
    for part in ("test", "val"):
        for name, steps in _split_names(trace, f"{strategy}/{part}").items():
            assert name not in memory.theorems(), name
            # its human proof is not there under another name either (unless a train proof has the very same step)
            train_steps = {step for proof in train.values() for step in proof}
            assert not (set(steps) - train_steps) & remembered, name
            for state, _ in steps:
                assert name not in {p.theorem for p in memory.similar_proofs(state, 5)}


@pytest.mark.coq
@pytest.mark.slow
def test_eval_memory_search_on_a_traced_split_remembers_only_the_train_part(traced_library, tmp_path, monkeypatch):
    from proofsmith.cli import main
    from proofsmith.prover import tactic_memory

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _, trace = traced_library
    out = tmp_path / "run"
    argv = ["eval", "--benchmark", "coq-library", "--data", str(trace), "--split", "random/test", "--prover",
            "memory-search", "--workers", "2", "--budget-s", "20", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    run = json.loads((out / "run.json").read_text())
    options = dict(run["prover_options"]) if isinstance(run["prover_options"], list) else run["prover_options"]
    assert options["memory"] == str(trace) and options["memory_split"] == "random"
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert records and all(r["prover"] == "memory-search" for r in records)
    (memory,) = [m for (source, split, online, protocol, mutants), m in tactic_memory._SHARED.items()
                 if source == str(trace.resolve()) and split == "random" and online and protocol == "random" and not mutants]
    found = {r["name"]: r["proof"] for r in records if r["verdict"] == "proved"}
    train = _split_names(trace, "random/train")
    for name in _split_names(trace, "random/test"):
        if name in memory.theorems():  # only as the prover proved it in this run
            assert name in found and "\n".join(memory.proof(name).tactics) == found[name]
    assert memory.theorems() <= set(train) | set(found)


def _arithmetic_goals(count: int) -> list[str]:
    """Varied goals with the memory's kind of symbols: sums, products, lists, orders over names."""
    ops = ["+", "*", "-", "<=", "<", "++"]
    types = ["nat", "Z", "N", "list nat", "bool"]
    return [goal(f"x{i % 37} y{i % 11} : {types[i % 5]}",
                 f"f{i % 13} (x{i % 37} {ops[i % 6]} y{i % 11}) {ops[(i // 6) % 6]} g{i % 29} x{i % 37} = h{i % 17}")
            for i in range(count)]


def test_past_a_size_the_memory_answers_from_an_approximate_index(encoder, monkeypatch):
    from proofsmith.prover import tactic_memory

    goals = _arithmetic_goals(3000)
    proofs = [(f"T{i}", [(g, f"tac{i}.")]) for i, g in enumerate(goals)]
    exact = TacticMemory(encoder)
    exact.add_proofs(proofs, learned=False)
    queries = goals[::97]
    wanted = [[h.theorem for h in exact.nearest(q, 8)] for q in queries]
    assert "approximate_index" not in exact.source  # 3,000 rows: the exact scan

    monkeypatch.setattr(tactic_memory, "APPROX_ROWS", 2000)
    memory = TacticMemory(encoder)
    memory.add_proofs(proofs[:1500], learned=False)
    memory.nearest(goals[0], 8)
    assert "approximate_index" not in memory.source  # below the size
    memory.add_proofs(proofs[1500:], learned=False)
    got = [[h.theorem for h in memory.nearest(q, 8)] for q in queries]
    built = memory.source["approximate_index"]
    assert built["kind"] == "ivf" and built["rows_at_build"] == 3000 and built["lists"] > 1
    # a state the memory holds is found (its own list is probed first), and most of the exact top 8
    assert all(g[0] == f"T{goals.index(q)}" for g, q in zip(got, queries))
    overlap = sum(len(set(g) & set(w)) for g, w in zip(got, wanted)) / sum(len(w) for w in wanted)
    assert overlap >= 0.8
    # a row limit (the chronological protocol) holds inside the approximate index
    limited = memory.nearest(goals[2500], 8, rows=1000)
    assert len(limited) == 8 and all(int(h.theorem[1:]) < 1000 for h in limited)
    # rows added after the build go into it
    new = goal("z : nat", "brand_new z = z")
    memory.add_proof("Mine.new", [(new, "apply brand_new_id.")])
    assert memory.nearest(new, 1)[0].theorem == "Mine.new"
