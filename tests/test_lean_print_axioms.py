"""`#print axioms` answers of real Lean versions, judged by both Lean guards.

tests/fixtures/lean_print_axioms/ holds 350 texts that Lean itself checked with
`#guard_msgs`, from v4.2 to v4.29 and nightlies (README there). `#guard_msgs`
compares up to whitespace, so every entry runs as recorded, on one line, and
broken the way Lean's formatter breaks a list that does not fit its line (after
every comma, a newline and one space). Each runs through a LeanSession over a
replayed REPL (the answer travels as REPL JSON) and through the Kimina
checker's judgement of a server response.

The expected axioms are read from the entry by this test, with a reading that
holds for these texts only (checked: no name in them needs «escapes» or holds a
comma); the expected verdict follows from the allowed set. The tests after
those use texts written in the format of Lean's src/Lean/Elab/Print.lean
(printAxiomsOf) for what no entry shows.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from proofsmith.checker.kimina import KiminaChecker, KiminaResult
from proofsmith.checker.lean import guard
from proofsmith.checker.lean.print_axioms import AxiomsAnswer, parse_axioms_answer
from proofsmith.checker.lean.protocol import CommandResponse, Message
from proofsmith.checker.lean.session import LeanSession
from proofsmith.checker.settings import DEFAULT_LEAN_ALLOWED_AXIOMS, CheckerSettings
from proofsmith.checker.types import CheckResult, ProofTask, Theorem, Verdict

FIXTURES = Path(__file__).parent / "fixtures" / "lean_print_axioms"
REPLAY = Path(__file__).parent / "lean_replay.py"
LOGIC = frozenset(DEFAULT_LEAN_ALLOWED_AXIOMS)
GUARD_MSGS_INFO = "info: "


@dataclass(frozen=True)
class Entry:
    source: str  # repo@commit:path
    toolchain: str
    asked: str  # the name after `#print axioms`
    text: str  # Lean's message, without the severity `#guard_msgs` writes before it

    @property
    def axioms(self) -> frozenset[str]:
        flat = " ".join(self.text.split())
        if flat.endswith("' does not depend on any axioms"):
            return frozenset()
        listed = flat[flat.index(" depends on axioms: [") + len(" depends on axioms: [") : -1]
        return frozenset(listed.split(", "))


def load_entries() -> list[Entry]:
    entries = []
    for path in sorted(FIXTURES.glob("*.json")):
        for raw in json.loads(path.read_text()):
            body = raw["expected_docstring_body"]
            assert body.startswith(GUARD_MSGS_INFO), body
            command = raw["command"]
            assert command.startswith("#print axioms "), command
            entries.append(Entry(
                f"{raw['repo']}@{raw['commit']}:{raw['path']}", raw["toolchain"],
                command.removeprefix("#print axioms ").strip(), body.removeprefix(GUARD_MSGS_INFO),
            ))
    return entries


ENTRIES = load_entries()


def renderings(text: str) -> dict[str, str]:
    one_line = " ".join(text.split())
    return {"recorded": text, "one line": one_line, "wrapped": one_line.replace(", ", ",\n ")}


def cases() -> list[tuple[Entry, str, str]]:
    return [(entry, form, text) for entry in ENTRIES for form, text in renderings(entry.text).items()]


def allowed(allow_native: bool) -> frozenset[str]:
    return LOGIC | frozenset(guard.NATIVE_AXIOMS) if allow_native else LOGIC


def assert_judged(entry: Entry, form: str, result: CheckResult, allow_native: bool) -> None:
    where = f"{entry.source} ({entry.toolchain}, {form}): {entry.text!r}"
    assert set(result.axioms) == entry.axioms and len(result.axioms) == len(entry.axioms), where
    bad = entry.axioms - allowed(allow_native)
    if not bad:
        assert result.verdict is Verdict.PROVED and result.reason == "", where
        return
    assert result.verdict is Verdict.FAILED, where
    listed = re.match(r"depends on disallowed axioms: ([^(]*)", result.reason)
    assert listed and set(listed.group(1).strip().split(", ")) == bad, (where, result.reason)
    assert ("sorryAx" in bad) == ("uses sorry" in result.reason), (where, result.reason)


# ---------------------------------------------------------------- the fixture


def test_the_fixture_holds_what_its_readme_says():
    assert len(ENTRIES) == 350
    texts = [" ".join(e.text.split()) for e in ENTRIES]
    assert all(not re.search(r"[«»]", t) and t.count(",") == t.count(", ") for t in texts)
    assert sum("\n" in e.text.strip() for e in ENTRIES) == 8  # wrapped by Lean's formatter
    assert Counter(e.axioms for e in ENTRIES)[frozenset({"Classical.choice", "propext", "Quot.sound"})] == 62
    orders = {t[t.index("[") :] for t in texts if "Classical.choice, " in t or "propext, Classical" in t}
    assert {"[Classical.choice, propext, Quot.sound]", "[propext, Classical.choice, Quot.sound]"} <= orders
    assert any(t.endswith("[propext, sorryAx]") for t in texts)  # sorryAx not first
    assert sum(not e.axioms for e in ENTRIES) == 79
    assert sum("Lean.ofReduceBool" in e.axioms for e in ENTRIES) == 56
    assert sum("sorryAx" in e.axioms for e in ENTRIES) == 53
    assert sum(e.axioms <= LOGIC for e in ENTRIES) == 224 and sum(e.axioms <= allowed(True) for e in ENTRIES) == 272


@pytest.mark.parametrize("allow_native", [False, True], ids=["default", "native allowed"])
def test_lean_session_judges_every_real_answer(tmp_path, allow_native):
    """Every entry as the answer of a replayed REPL to the session's own `#print axioms`."""
    script, checks = [], []
    for index, (entry, form, text) in enumerate(cases()):
        statement = f"theorem {entry.asked} : True"
        script.append(({"cmd": f"{statement} := by\n  trivial"}, json.dumps({"env": 2 * index})))
        message = {"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": {"line": 1, "column": 13}, "data": text}
        answer = json.dumps({"messages": [message], "env": 2 * index + 1}, ensure_ascii=False)
        script.append(({"cmd": f"#print axioms {entry.asked}", "env": 2 * index}, answer))
        checks.append((entry, form, Theorem(entry.asked, statement, "", backend="lean")))
    path = tmp_path / "script.jsonl"
    path.write_text("".join(json.dumps({"request": r, "response": a}, ensure_ascii=False) + "\n" for r, a in script))
    settings = CheckerSettings(
        lean_repl=sys.executable, lean_repl_args=["-S", str(REPLAY), "v4.19.0", "--script", str(path)],
        timeout_s=10, max_uses=len(checks) + 1, lean_allow_native_decide=allow_native,
    )
    with LeanSession(settings) as session:
        for entry, form, theorem in checks:
            assert_judged(entry, form, session.check(theorem, "trivial"), allow_native)


class _OfflineClient:
    """Stands in for the HTTP client: these tests judge answers, they send nothing."""

    url = "http://offline"

    def reachable(self) -> bool:
        return True

    def close(self) -> None:
        pass


@pytest.mark.parametrize("allow_native", [False, True], ids=["default", "native allowed"])
def test_kimina_checker_judges_every_real_answer(allow_native):
    """Every entry as the last message of a Kimina server's answer to the checker's snippet."""
    settings = CheckerSettings(kimina_url="http://offline", lean_allow_native_decide=allow_native)
    checker = KiminaChecker(settings, client=_OfflineClient())  # type: ignore[arg-type]
    for entry, form, text in cases():
        response = CommandResponse(messages=[
            Message(severity="info", pos={"line": 3, "column": 0}, data="Try this: trivial"),
            Message(severity="info", pos={"line": 5, "column": 0}, data=text),
        ])
        answer = KiminaResult.judge("0", None, response, 0.5)
        task = ProofTask(Theorem(entry.asked, f"theorem {entry.asked} : True", "", backend="kimina"), "trivial")
        assert_judged(entry, form, checker.judge(task, entry.asked, answer, 0.5), allow_native)


# ---------------------------------------------------------------- what no entry shows


def info(text: str) -> Message:
    return Message(severity="info", pos={"line": 1, "column": 0}, data=text)


def judge(texts: list[str], name: str, header: str = "", allow_native: bool = False):
    messages = [info(t) for t in texts]
    return guard.axiom_verdict(messages, name, list(LOGIC), guard.declared_axioms(header), allow_native)


def test_escaped_names_may_hold_spaces_commas_brackets_and_dots():
    text = "'Foo.«my thm»' depends on axioms: [«ax, one»,\n Foo.«ax]two», «a.b», propext]"
    assert parse_axioms_answer(text) == AxiomsAnswer("Foo.my thm", ("ax, one", "Foo.ax]two", "a.b", "propext"))
    verdict, reason, axioms = judge([text], "my thm")
    assert verdict is Verdict.FAILED and axioms == ("ax, one", "Foo.ax]two", "a.b", "propext")
    assert reason == "depends on disallowed axioms: ax, one, Foo.ax]two, a.b"


def test_header_axioms_are_matched_without_their_escapes():
    header = "namespace P\naxiom «f spec» : 1 = 1\nend P"
    assert judge(["'P.t' depends on axioms: [P.«f spec», propext]"], "t", header) == (
        Verdict.PROVED, "", ("P.f spec", "propext"))


def test_an_ambiguous_name_is_judged_on_every_constant_it_names():
    # after `open Nat`, `#print axioms foo` answers for `Nat.foo` and for the root `foo`
    texts = ["'Nat.foo' depends on axioms: [propext]", "'foo' depends on axioms: [propext, sorryAx]"]
    verdict, reason, axioms = judge(texts, "foo")
    assert verdict is Verdict.FAILED and "uses sorry" in reason and axioms == ("propext", "sorryAx")
    assert judge(list(reversed(texts)), "foo")[0] is Verdict.FAILED
    assert judge(texts + ["'Nat.foo_bar' depends on axioms: [Lean.ofReduceBool]"], "foo")[2] == ("propext", "sorryAx")


def test_native_decide_axioms_of_newer_versions():
    text = "'t' depends on axioms: [propext, Lean.ofReduceBool, Lean.trustCompiler]"
    verdict, reason, _ = judge([text], "t")
    assert verdict is Verdict.FAILED and reason == "depends on disallowed axioms: Lean.ofReduceBool, Lean.trustCompiler"
    assert judge([text], "t", allow_native=True) == (
        Verdict.PROVED, "", ("propext", "Lean.ofReduceBool", "Lean.trustCompiler"))


def test_private_and_primed_names():
    assert judge(["'_private.Main.0.t\'' depends on axioms: [propext]"], "t'") == (Verdict.PROVED, "", ("propext",))


@pytest.mark.parametrize("text", [
    "Try this: simp",
    "'t' depends on axioms: [propext",
    "'t' depends on axioms: []",
    "'t' depends on axioms: [propext, ]",
    "'t' depends on axioms: [propext] and more",
    "t depends on axioms: [propext]",
    "'t' does not depend on any axioms, except [sorryAx]",
])
def test_texts_that_are_not_answers_say_nothing(text):
    assert parse_axioms_answer(text) is None
    verdict, reason, axioms = judge([text], "t")
    assert verdict is Verdict.FAILED and reason == "#print axioms said nothing about t" and axioms == ()
