"""The CLI's shared options (cli.shared_options, cli.load_path_options) and its parsers' errors."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from proofsmith.cli import build_parser, main, shared_options
from proofsmith.cli.errors import UsageError

CLI = Path(__file__).resolve().parent.parent / "cli"
SHARED = ("--seed", "--threads", "--model-url", "--api-key-env", '"-Q"', '"--project"')


@pytest.mark.parametrize("argv, command", [
    (["check", "--wrokers", "2", "in.jsonl"], "check"),
    (["prove", "--sed", "1", "Theorem t : True."], "prove"),
    (["synth", "mutate", "--out", "x.jsonl", "--limti", "3"], "synth mutate"),
    (["eval", "--benchmark", "minif2f-coq", "--out", "r", "--promblems", "a"], "eval"),
])
def test_a_flag_typo_prints_the_subcommands_usage_and_a_guess(capsys, argv, command):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: proofsmith {command} "), err
    typo = next(a for a in argv if a.startswith("--") and a not in ("--out", "--benchmark"))
    assert f"proofsmith {command}: error: unrecognized arguments: {typo}" in err
    assert f"{typo} -> " in err


def test_the_shared_options_are_defined_in_one_module_each():
    """No command module spells out --seed, --threads, the served model's flags or the load path."""
    owners = {"shared_options.py", "load_path_options.py"}
    others = {"train.py", "train_generator.py", "iterate.py", "recheck.py"}  # other owners: not yet moved
    for module in CLI.glob("*.py"):
        if module.name in owners | others:
            continue
        text = module.read_text()
        for flag in SHARED:
            assert not re.search(rf"add_argument\(\s*{re.escape(flag)}", text), f"{module.name} defines {flag}"


def test_every_command_with_a_model_takes_the_same_model_flags():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("eval", "prove"):
        flags = {f for a in sub.choices[name]._actions for f in a.option_strings}
        assert {"--model", "--model-url", "--api-key-env", "--seed"} <= flags, name
    assert "--threads" in {f for a in sub.choices["suggest"]._actions for f in a.option_strings}


def test_model_options_refuse_a_server_without_a_name_and_a_key_without_a_server():
    ns = argparse.Namespace
    assert shared_options.model_options(ns(model="m", model_url="http://x/v1", api_key_env="K")) == {
        "model": "m", "model_url": "http://x/v1", "api_key_env": "K"}
    with pytest.raises(UsageError, match="--model-url http://x/v1: name the served model"):
        shared_options.model_options(ns(model=None, model_url="http://x/v1", api_key_env=None))
    with pytest.raises(UsageError, match="--api-key-env: only a served model"):
        shared_options.model_options(ns(model="m", model_url=None, api_key_env="K"))


def test_threads_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        main(["prove", "--threads", "0", "Theorem t : True."])
    assert "--threads: must be at least 1, got 0" in capsys.readouterr().err.replace("argument ", "")
