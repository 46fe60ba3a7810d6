"""The options several commands take, each defined once: the model (a checkpoint, or a served model
with its URL and API-key variable), --seed, --threads. The Coq load path (-Q/-R/--project) is
cli.load_path_options.

    shared_options.add_model(parser)           # --model, --model-url, --api-key-env [, --device]
    shared_options.add_seed(parser)            # --seed (default 0)
    shared_options.add_threads(parser)         # --threads
    options = shared_options.model_options(args)   # {"model": ..., "model_url": ..., "api_key_env": ...}
    shared_options.add_prover_options(parser)  # --prover-option KEY=VALUE; prover_options(args) reads both
"""

from __future__ import annotations

import argparse

from proofsmith.cli.errors import UsageError

MODEL_HELP = "generator checkpoint folder or .gguf ('default': SmolLM2); with --model-url, the served model's name"


def add_model(parser, help: str = MODEL_HELP, served: bool = True, device: bool = False, group=None) -> None:
    """--model, and for served models --model-url and --api-key-env; --device with `device`.

    `group` (a mutually exclusive group) takes --model when it excludes another option such as --no-model."""
    (group or parser).add_argument("--model", default=None, help=help)
    if served:
        parser.add_argument("--model-url", default=None, metavar="URL",
                            help="an OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, hosted), "
                                 "e.g. http://localhost:8000/v1")
        parser.add_argument("--api-key-env", default=None, metavar="VAR",
                            help="environment variable holding the server's API key (default: OPENAI_API_KEY, when set)")
    if device:
        parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda when present)")


def model_options(args: argparse.Namespace) -> dict[str, object]:
    """The model options given, as prover options; a served model's URL without its name, or an API
    key variable without a server, is a UsageError. The key's variable is recorded, never the key."""
    options: dict[str, object] = {}
    model_url = getattr(args, "model_url", None)
    api_key_env = getattr(args, "api_key_env", None)
    if args.model is not None:
        options["model"] = args.model
    if model_url is not None:
        if args.model is None:
            raise UsageError(f"--model-url {model_url}: name the served model with --model NAME")
        options["model_url"] = model_url
    if api_key_env is not None:
        if model_url is None:
            raise UsageError("--api-key-env: only a served model (--model-url) takes an API key")
        options["api_key_env"] = api_key_env
    return options


def add_prover_options(parser) -> None:
    parser.add_argument("--prover-option", action="append", default=[], metavar="KEY=VALUE",
                        help="extra prover option (VALUE parsed as JSON when it can be), repeatable; e.g. "
                             "memory=.cache/trace/stdlib, hammer=true, automation_share=0.3")


def prover_options(args: argparse.Namespace) -> dict[str, object]:
    """The model options (model_options) and every --prover-option KEY=VALUE, VALUE read as JSON when it is."""
    import json

    options = model_options(args)
    for item in args.prover_option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--prover-option {item!r}: expected KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def add_seed(parser, help: str = "random seed (default 0)") -> None:
    parser.add_argument("--seed", type=int, default=0, help=help)


def add_threads(parser, help: str = "torch CPU threads for the model (1 helps on a busy machine)") -> None:
    parser.add_argument("--threads", type=_positive_int("--threads"), default=None, help=help)


def _positive_int(flag: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
        return value

    parse.__name__ = flag
    return parse
