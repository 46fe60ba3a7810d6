"""`suggest --file` learns where the user is (cli.project_knowledge): the project's proofs feed a
tactic memory, its declarations are the premises. Real Coq, a two-file project that is not built."""

from __future__ import annotations

import json

import pytest

from proofsmith.cli import main
from proofsmith.cli.project_knowledge import learn_project
from tests.test_project_build import two_file_project

pytestmark = pytest.mark.coq


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("PROOFSMITH_CACHE_DIR", str(tmp_path / "cache"))
    return two_file_project(tmp_path / "P")


def test_suggestions_include_a_tactic_from_the_projects_proofs(project, capsys):
    # line 7 is `Proof.` of double_2: `unfold double.` is no automation tactic; double_1 (above, in B.v)
    # and A.v's proofs start with it
    assert main(["suggest", "--file", str(project / "theories/B.v"), "--line", "7", "--json", "--no-model",
                 "--show", "40"]) == 0
    record = json.loads(capsys.readouterr().out)
    memory = {s["tactic"] for s in record["suggestions"] if "tactic memory" in s["source"]}
    assert "unfold double." in memory
    premises = [s["tactic"] for s in record["suggestions"] if s["source"] == "premise"]
    assert any("Two.A." in t or "Two.B.double_1" in t for t in premises)  # the project's declarations
    assert not list(project.rglob("*.vo"))


def test_the_memory_holds_the_other_proofs_not_the_one_being_written(project):
    knowledge = learn_project(project, exclude="Two.B.double_2", quiet=True)
    assert knowledge.memory.theorems() == {"Two.A.double_0", "Two.A.double_S", "Two.B.double_1"}
    again = learn_project(project, exclude="Two.B.double_2", quiet=True)
    assert again.traced_now == 0  # cached per project: unchanged files are not traced again
    (saved,) = (knowledge.trace_dir / "memory").iterdir()  # A.v's proofs, saved once
    assert "Two.A.double_S" in saved.joinpath("steps.jsonl").read_text()
    assert "Two.B.double_1" not in saved.joinpath("steps.jsonl").read_text()  # B.v, being edited, is added live
    (project / "theories" / "B.v").write_text((project / "theories" / "B.v").read_text()
                                              + "\nLemma double_3 : double 3 = 6.\nProof. cbv. reflexivity. Qed.\n")
    edited = learn_project(project, exclude="Two.B.double_2", quiet=True)
    assert edited.traced_now == 1 and "Two.B.double_3" in edited.memory.theorems()


def test_no_learn_leaves_the_project_out(project, capsys):
    assert main(["suggest", "--file", str(project / "theories/B.v"), "--line", "7", "--json", "--no-model",
                 "--show", "40", "--no-learn"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert not [s for s in record["suggestions"] if "tactic memory" in s["source"] or s["source"] == "premise"]
