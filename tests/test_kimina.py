"""The Kimina backend against a replay server over real HTTP (tests/kimina_replay.py).

The recorded answers are kimina-lean-server's own `tests/match` outputs for
100 Goedel-Prover proofs and one `2 + 2 = 4` file sent twice
(tests/fixtures/kimina/README.md).
"""

import json
from collections import Counter
from pathlib import Path

import pytest

from proofsmith.checker.backend import CheckerUnavailable
from proofsmith.checker.kimina import KiminaChecker, KiminaClient, KiminaError, Outcome
from proofsmith.checker.registry import open_checker
from proofsmith.checker.settings import CheckerSettings
from proofsmith.checker.types import ProofTask, Theorem, Verdict

from .kimina_replay import MATCH, KiminaReplay

FILES = sorted((MATCH / "input").glob("*.lean"))


def recorded(path: Path) -> dict:
    (result,) = json.loads((MATCH / "output" / f"{path.stem}.json").read_text())["results"]
    return result


def server_outcome(result: dict) -> Outcome:
    """What the recording itself says, read straight from the JSON."""
    if result["error"] is not None:
        assert "timed out" in result["error"]
        return Outcome.TIMED_OUT
    severities = {m["severity"] for m in result["response"].get("messages", [])}
    assert "error" not in severities
    return Outcome.CHECKED_WITH_WARNINGS if "warning" in severities else Outcome.CHECKED


def snippets() -> list[tuple[str, str]]:
    return [(recorded(p)["custom_id"], p.read_text()) for p in FILES]


def in_batches(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


@pytest.fixture(scope="module")
def server():
    with KiminaReplay() as replay:
        yield replay


@pytest.mark.parametrize("endpoint", ["verify", "check"])
def test_recordings_are_classified_as_the_server_did(server, endpoint):
    client = KiminaClient(server.url)
    results = []
    for batch in in_batches(snippets(), 16):
        results += getattr(client, endpoint)(batch, timeout_s=300)
    client.close()
    assert [r.id for r in results] == [recorded(p)["custom_id"] for p in FILES]
    for path, result in zip(FILES, results):
        raw = recorded(path)
        assert result.outcome is server_outcome(raw), path.name
        if raw["response"] is not None:
            kept = result.response.to_json()
            if endpoint == "verify":
                assert kept == raw["response"], f"fields lost in {path.name}"
            else:
                assert kept == {k: v for k, v in raw["response"].items() if k != "time"}
            assert result.time_s == raw["response"]["time"]
        else:
            assert result.error == "Lean process timed out"
    goedel = Counter(r.outcome for p, r in zip(FILES, results) if p.name.startswith("goedel-"))
    assert sum(goedel.values()) == 100
    assert goedel == {Outcome.CHECKED: 54, Outcome.CHECKED_WITH_WARNINGS: 42, Outcome.TIMED_OUT: 4}


def test_older_servers_are_reached_on_verify_and_keys_are_sent():
    with KiminaReplay(api_key="s3cret", legacy_only=True) as replay:
        client = KiminaClient(replay.url, api_key="s3cret")
        first = snippets()[:3]
        assert [r.id for r in client.run(first, 60)] == [i for i, _ in first]
        assert client.endpoint == "/verify"
        assert [path for path, _ in replay.requests] == ["/api/check", "/verify"]
        client.close()
        with pytest.raises(KiminaError, match="401"):
            KiminaClient(replay.url).verify(first, 60)


def goedel_tasks() -> list[ProofTask]:
    tasks = []
    for path in FILES:
        text = path.read_text()
        at = text.index("\ntheorem ") + 1
        signature, proof = text[at:].split(":=", 1)
        name = signature.split()[1]
        tasks.append(ProofTask(Theorem(name, signature, text[:at], backend="kimina"), ":=" + proof))
    return tasks


def test_checker_judges_batches_with_the_guard_and_axioms():
    tasks = goedel_tasks()
    cheats = [
        ProofTask(tasks[0].theorem, "sorry"),
        ProofTask(tasks[1].theorem, "native_decide"),
        ProofTask(Theorem("e", "example : True", ""), "trivial"),
    ]
    with KiminaReplay() as replay:
        settings = CheckerSettings(kimina_url=replay.url, kimina_batch_size=16, workers=2)
        finished = []
        with open_checker("kimina", settings) as checker:
            results = checker.check_batch(tasks + cheats, on_result=lambda i, r: finished.append(i))
        sent = [s for path, body in replay.requests for s in body.get("snippets", body.get("codes", []))]
    assert sorted(finished) == list(range(len(tasks) + 3))
    assert len(sent) == len(tasks)  # the cheats never left this machine
    verdicts = Counter(r.verdict for r in results[: len(tasks)])
    assert verdicts == {Verdict.PROVED: 98, Verdict.TIMEOUT: 4}
    proved = results[0] if results[0].proved else results[1]
    assert proved.axioms == ("propext", "Classical.choice", "Quot.sound") and proved.checker.backend == "kimina"
    assert [r.verdict for r in results[-3:]] == [Verdict.FAILED, Verdict.FAILED, Verdict.ERROR]
    assert "sorry" in results[-3].reason and "native_decide" in results[-2].reason


def test_checker_refuses_proofs_with_disallowed_axioms():
    tasks = goedel_tasks()[:20]
    with KiminaReplay(axioms=["propext", "sorryAx"]) as replay:
        with KiminaChecker(CheckerSettings(kimina_url=replay.url)) as checker:
            results = checker.check_batch(tasks)
    judged = [r for r in results if r.verdict is not Verdict.TIMEOUT]
    assert judged and all(r.verdict is Verdict.FAILED and "sorryAx" in r.reason for r in judged)


def test_unreachable_server_says_how_to_point_at_one():
    with pytest.raises(CheckerUnavailable, match="PROOFSMITH_KIMINA_URL"):
        open_checker("kimina", CheckerSettings(kimina_url="http://127.0.0.1:9"))


def test_no_interactive_sessions(server):
    with KiminaChecker(CheckerSettings(kimina_url=server.url)) as checker:
        with pytest.raises(CheckerUnavailable, match="--backend lean"):
            checker.session()


def test_outcomes_of_recorded_repl_answers():
    """Kimina forwards the REPL's answer; the REPL's own recorded answers give every other outcome."""
    from proofsmith.checker.kimina import KiminaResult, SnippetResult

    from .lean_replay import recorded_pair

    repl = Path(__file__).parent / "fixtures" / "lean_repl" / "v4.15.0" / "test"
    answers = {name: [json.loads(r) for _, r in recorded_pair(repl / f"{name}.in", "v4.15.0")]
               for name in ("have_by_sorry", "unknown_environment", "readme")}
    cases = [
        (answers["have_by_sorry"][0], Outcome.LEAN_ERROR),
        (answers["readme"][0], Outcome.SORRY),
        (answers["unknown_environment"][0], Outcome.REPL_ERROR),
    ]
    for answer, outcome in cases:
        parsed = SnippetResult.model_validate({"id": "x", "time": 0.5, "response": answer})
        assert KiminaResult.from_check(parsed).outcome is outcome
        assert parsed.response.to_json() == answer
    server = SnippetResult.model_validate({"id": "x", "error": "Lean REPL command timed out in 30.0 seconds"})
    assert KiminaResult.from_check(server).outcome is Outcome.TIMED_OUT
    crash = SnippetResult.model_validate({"id": "x", "error": "REPL process died"})
    assert KiminaResult.from_check(crash).outcome is Outcome.SERVER_ERROR
