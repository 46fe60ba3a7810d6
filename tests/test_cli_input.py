"""Bad input to `proofsmith check` and `proofsmith eval`: one line naming the file and what is wrong, exit 2, nothing written."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import pytest

from proofsmith.cli import main

from .cli_errors import usage_error

PROOF = {"name": "t", "header": "", "statement": "Theorem t : 1 = 1.", "proof": "reflexivity."}
BUNDLED_LINE = (Path(__file__).resolve().parent.parent / "eval" / "data" / "minif2f_coq.jsonl").read_bytes().split(b"\n")[0]


def test_check_names_the_line_and_column_of_a_byte_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "proofs.jsonl"
    # the column counts characters: "é" is two bytes, one column
    path.write_bytes(json.dumps(PROOF).encode() + b'\n{"name": "' + "é".encode() + b't\xff"}\n')
    assert usage_error(capsys, ["check", str(path)]) == (
        f"proofsmith check: {path}:2:13: not UTF-8 text (byte 0xff); save the file as UTF-8"
    )


def test_eval_data_that_is_not_utf8_is_named_and_nothing_is_written(tmp_path, capsys):
    data = tmp_path / "mine.jsonl"
    data.write_bytes(BUNDLED_LINE + b"\n\xff\xfe\n")
    out = tmp_path / "run"
    err = usage_error(capsys, ["eval", "--benchmark", "minif2f-coq", "--data", str(data), "--out", str(out)])
    assert f"{data}:2:1: not UTF-8 text (byte 0xff)" in err
    assert not out.exists()


def test_check_gives_line_and_column_of_bad_json(tmp_path, capsys):
    path = tmp_path / "proofs.jsonl"
    path.write_text(json.dumps(PROOF) + '\n{"name": "u",, }\n')
    assert usage_error(capsys, ["check", str(path)]).startswith(f"proofsmith check: {path}:2:14: not valid JSON: ")


def test_check_names_a_missing_field(tmp_path, capsys):
    path = tmp_path / "proofs.jsonl"
    path.write_text(json.dumps({k: v for k, v in PROOF.items() if k != "proof"}) + "\n")
    assert usage_error(capsys, ["check", str(path)]) == f"proofsmith check: {path}:1: field 'proof': missing"


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_check_refuses_a_file_with_no_proofs(tmp_path, capsys, text):
    path = tmp_path / "proofs.jsonl"
    path.write_text(text)
    err = usage_error(capsys, ["check", str(path)])
    assert err == f"proofsmith check: {path}: no records: the file is empty or has only blank lines"


def test_eval_refuses_empty_data(tmp_path, capsys):
    data = tmp_path / "mine.jsonl"
    data.write_text("")
    err = usage_error(capsys, ["eval", "--benchmark", "minif2f-coq", "--data", str(data), "--out", str(tmp_path / "run")])
    assert f"{data}: no records: the file is empty" in err
    assert not (tmp_path / "run").exists()


def test_check_bad_option_is_one_line_naming_the_option(tmp_path, capsys, monkeypatch):
    path = tmp_path / "proofs.jsonl"
    path.write_text(json.dumps(PROOF) + "\n")
    err = usage_error(capsys, ["check", str(path), "--workers", "0"])
    assert err == "proofsmith check: --workers=0: should be greater than or equal to 1"
    # a bad value from the environment names the variable
    monkeypatch.setenv("PROOFSMITH_TIMEOUT_S", "soon")
    err = usage_error(capsys, ["check", str(path)])
    assert err.startswith("proofsmith check: PROOFSMITH_TIMEOUT_S=soon: should be a valid number")


def test_missing_data_points_to_a_file_that_exists(tmp_path, capsys):
    err = usage_error(capsys, ["eval", "--benchmark", "minif2f-coq", "--data", str(tmp_path / "nope.jsonl"),
                          "--out", str(tmp_path / "run")])
    assert "no such file or directory" in err
    named = re.search(r"see (\S+\.md)", err)
    assert named and Path(named[1]).is_file(), err


def test_eval_help_lists_the_provers(capsys):
    from proofsmith.prover.registry import PROVERS

    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"which prover: {', '.join(PROVERS)}" in text


@pytest.mark.parametrize(
    "args,message",
    [
        (["--prover", "nosuch"], "unknown prover 'nosuch'; choose one of portfolio, search"),
        (["--prover-option", "depth=3"], "prover 'portfolio' takes no option depth"),
        (["--tactic-timeout-s", "0"], "--tactic-timeout-s must be positive"),
    ],
)
def test_a_refused_eval_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    err = usage_error(capsys, ["eval", "--benchmark", "minif2f-coq", "--problems", "aime_1984_p7", *args, "--out", str(out)])
    assert message in err
    assert not out.exists()


@pytest.mark.coq
def test_the_folder_of_a_refused_eval_takes_the_corrected_run_whose_report_lists_the_failures(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["eval", "--benchmark", "minif2f-coq", "--problems", "mathd_algebra_304,aime_1984_p7",
              "--budget-s", "5", "--workers", "1", "--no-progress", "--out", str(out)]
    assert main(common + ["--prover", "nosuch"]) == 2
    capsys.readouterr()
    assert main(common) == 0, capsys.readouterr().err
    records = {json.loads(line)["name"]: json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()}
    assert records["mathd_algebra_304"]["verdict"] == "proved"
    failure = records["aime_1984_p7"]
    assert failure["verdict"] in ("failed", "timeout") and failure["reason"]
    html = (out / "report.html").read_text()
    assert "Not proved (1: failed, timed out or error)" in html
    assert f"<td>aime_1984_p7</td><td>test/aime_1984_p7.v</td><td>{failure['verdict']}</td>" in html
    assert escape(failure["reason"]) in html
