"""Provers by name, for the evaluation runner, the CLI and notebooks.

    make_prover("portfolio")
    make_prover("model-free-search", retriever=r)
    make_prover("search", model="runs/sft/final")        # default model when None
    make_prover("sample", model="runs/sft/final", temperature=0.8)

`retriever` is a `prover.premises.PremiseRetriever` or an index folder.

Options not listed for a prover are refused with a message naming them, so a
typo in a flag never silently changes an experiment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prover.base import Prover

PROVERS = ("portfolio", "search", "model-free-search", "sample")

# Options of the language-model generator, passed through to make_generator.
_GENERATOR_OPTIONS = (
    "generator", "device", "max_prompt_tokens", "decoding", "temperature", "batch_size", "threads", "max_tactic_tokens"
)


class ProverOptionError(ValueError):
    pass


def _take(options: dict[str, Any], allowed: tuple[str, ...], prover: str) -> dict[str, Any]:
    unknown = sorted(k for k, v in options.items() if k not in allowed and v is not None)
    if unknown:
        raise ProverOptionError(f"prover {prover!r} takes no option {', '.join(unknown)}")
    return {k: v for k, v in options.items() if v is not None}


def load_retriever(index_dir: str | Path):
    """The dense retriever saved in an index folder (from `proofsmith index build`)."""
    from retrieval.errors import RetrievalInputError
    from retrieval.retriever import DenseRetriever

    try:
        return DenseRetriever.load(index_dir)
    except RetrievalInputError as exc:
        raise ProverOptionError(f"retriever {str(index_dir)!r}: {exc}") from None


def _resolve_retriever(options: dict[str, Any]) -> None:
    if isinstance(options.get("retriever"), (str, Path)):
        options["retriever"] = load_retriever(options["retriever"])


def _portfolio(options: dict[str, Any]) -> Prover:
    from prover.portfolio import PortfolioProver

    _take(options, (), "portfolio")
    return PortfolioProver()


def _model_generator(options: dict[str, Any]):
    from prover.generators import make_generator

    gen_options = {k: options.pop(k) for k in _GENERATOR_OPTIONS if k in options}
    kind = gen_options.pop("generator", "auto")
    if kind == "model-free":
        raise ProverOptionError("use the prover 'model-free-search' for the model-free generator")
    return make_generator(kind, options.pop("model", None), **gen_options)


def _search(options: dict[str, Any]) -> Prover:
    from prover.search import BestFirstSearchProver

    allowed = ("model", "retriever", "premises_k", "expansion_batch", "tactics_per_expansion") + _GENERATOR_OPTIONS
    options = _take(options, allowed, "search")
    _resolve_retriever(options)
    generator = _model_generator(options)
    return BestFirstSearchProver(generator, **options)


def _model_free_search(options: dict[str, Any]) -> Prover:
    from prover.generators.model_free import ModelFreeGenerator
    from prover.search import BestFirstSearchProver

    options = _take(
        options, ("retriever", "premises_k", "expansion_batch", "tactics_per_expansion"), "model-free-search"
    )
    _resolve_retriever(options)
    # Its candidates cost nothing to produce, so it tries more of them per node
    # (on 30 miniF2F-Coq test problems at 10 s: 5 proved with 8, 6 with 32).
    options.setdefault("tactics_per_expansion", 32)
    prover = BestFirstSearchProver(ModelFreeGenerator(), **options)
    prover.name = "model-free-search"
    return prover


def _sample(options: dict[str, Any]) -> Prover:
    from prover.sampling import WholeProofSampler

    options = _take(options, ("model", "retriever", "premises_k", "chunk") + _GENERATOR_OPTIONS, "sample")
    temperature = options.pop("temperature", 1.0)
    _resolve_retriever(options)
    generator = _model_generator(options)
    return WholeProofSampler(generator, temperature=temperature, **options)


_FACTORIES: dict[str, Callable[[dict[str, Any]], Prover]] = {
    "portfolio": _portfolio,
    "search": _search,
    "model-free-search": _model_free_search,
    "sample": _sample,
}


def make_prover(name: str, **options: Any) -> Prover:
    """A prover by name; options that are None count as not given."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ProverOptionError(f"unknown prover {name!r}; choose one of {', '.join(PROVERS)}") from None
    return factory(dict(options))
