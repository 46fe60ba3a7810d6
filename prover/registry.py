"""Provers by name, for the evaluation runner, the CLI and notebooks.

    make_prover("portfolio")
    make_prover("model-free-search", retriever=r)
    make_prover("search", model="runs/sft/final")        # default model when None; mixed with
                                                         # the model-free generator (automation_share)
    make_prover("sample", model="runs/sft/final", temperature=0.8)
    make_prover("search", model="NAME", model_url="http://localhost:8000/v1")
                                                         # a model behind an OpenAI-compatible server
                                                         # (prover.generators.openai_server)
    make_prover("portfolio+search", model="runs/sft/final", portfolio_share=0.25)
    make_prover("reference")                             # replays the benchmark's human proof
    make_prover("memory-search", memory=".cache/trace/stdlib", memory_split="random")
                                                         # tactic memory + model-free generator
                                                         # (prover.tactic_memory); `search` takes
                                                         # memory= too (model + memory + automation),
                                                         # and proof_retrieval=true (similar proofs
                                                         # in the prompt, prover.generators.proof_retrieval)
    make_prover("portfolio", hammer=True)                # + CoqHammer (sauto/hauto/qauto, hammer);
                                                         # its checker: checker_settings(...)
    make_prover("search", model_generator=g)             # a generator built by the caller in place of
                                                         # the model (e.g. one already loaded)
    default_prover("coq", model=None)                    # "model-free-search"; see also
                                                         # takes_model, unsuitable

`retriever` is a `prover.premises.PremiseRetriever` or an index folder.

Options not listed for a prover are refused with a message naming them, so a
typo in a flag never silently changes an experiment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from proofsmith.prover.base import Prover
from proofsmith.prover.premises import PremiseRetriever

if TYPE_CHECKING:
    from proofsmith.prover.generators.base import LanguageModelGenerator, TacticGenerator

PROVERS = ("portfolio", "search", "model-free-search", "memory-search", "sample", "portfolio+search", "reference")

# Options of the language-model generator, passed through to make_generator.
_GENERATOR_OPTIONS = (
    "generator", "device", "max_prompt_tokens", "decoding", "temperature", "batch_size", "threads", "max_tactic_tokens",
) + (
    # a served model (prover.generators.openai_server): model is then the name the server serves
    "model_url", "api_key_env", "endpoint", "max_total_tokens", "concurrency",
)


# Options of the tactic memory (prover.tactic_memory), for `memory-search` and `search`.
_MEMORY_OPTIONS = ("memory", "memory_split", "memory_share", "memory_online", "memory_protocol", "memory_mutants")

_SEARCH_OPTIONS = (
    "model", "retriever", "premises_k", "expansion_batch", "tactics_per_expansion", "automation_share", "model_tactics",
    "hammer", "proof_retrieval", "sample_temperature",
) + _MEMORY_OPTIONS + _GENERATOR_OPTIONS

# The options each prover takes.
PROVER_OPTIONS: dict[str, tuple[str, ...]] = {
    "portfolio": ("hammer",),
    "search": _SEARCH_OPTIONS,
    "model-free-search": ("retriever", "premises_k", "expansion_batch", "tactics_per_expansion", "hammer",
                          "sample_temperature"),
    "memory-search": ("retriever", "premises_k", "expansion_batch", "tactics_per_expansion", "hammer", "premise_slots",
                      "premise_slot_share", "single_steps", "sample_temperature") + _MEMORY_OPTIONS,
    "sample": ("model", "retriever", "premises_k", "chunk") + _GENERATOR_OPTIONS,
    "portfolio+search": ("portfolio_share",) + _SEARCH_OPTIONS,
    "reference": (),
}


# `search` mixes the model with the model-free generator (automation share);
# automation_share=0 searches with the model alone.
DEFAULT_AUTOMATION_SHARE = 0.5
DEFAULT_MODEL_TACTICS = 8
# Its candidates cost nothing to produce, so it proposes more of them per node
# (on 30 miniF2F-Coq test problems at 10 s: 5 proved with 8, 6 with 32).
MODEL_FREE_TACTICS = 32
# CoqHammer's reconstruction tactics in the model-free generator (option hammer): prior weights
# next to prover.generators.model_free.COQ_AUTOMATION. The `hammer` tactic itself needs its
# messages (the reconstruction), which a search step does not return: the portfolio runs it.
HAMMER_AUTOMATION: dict[str, float] = {"qauto.": 0.8, "hauto.": 0.6, "sauto.": 0.6}
# The tactic memory's share of a mixture's probability mass, and its candidates per node
# (they cost a FAISS search, nothing more).
DEFAULT_MEMORY_SHARE = 0.5
MEMORY_TACTICS = 16
# Premise slots (prover.premise_slots): their share of the memory's mass, and their candidates per node.
DEFAULT_PREMISE_SLOT_SHARE = 0.3
PREMISE_SLOT_TACTICS = 16
# `portfolio+search`: the share of the wall budget the portfolio gets first.
DEFAULT_PORTFOLIO_SHARE = 0.25


# Backends whose checker takes whole proofs only, with no tactic steps to search over, and
# why: whole-proof sampling is the one prover for them.
WHOLE_PROOF_BACKENDS = {"fstar": "F* checks whole definitions, with no tactic steps"}


class ProverOptionError(ValueError):
    pass


def takes_model(name: str) -> bool:
    """Whether the prover runs a language model (and so takes `model`, `device`, `threads`)."""
    return "model" in PROVER_OPTIONS[name]


def replays_reference(name: str) -> bool:
    """Whether the prover replays the benchmark's own proof (so it needs a benchmark that has them)."""
    return name == "reference"


def default_prover(backend: str, model: str | None) -> str:
    """The prover for a theorem of `backend` when none is named: best-first search with a model,
    the model-free search without one; whole-proof sampling where the backend has no tactic steps."""
    if backend in WHOLE_PROOF_BACKENDS:
        return "sample"
    return "search" if model else "model-free-search"


def unsuitable(name: str, backend: str) -> str | None:
    """Why the prover `name` cannot prove theorems of `backend`, or None when it can."""
    if backend in WHOLE_PROOF_BACKENDS and name != "sample":
        return WHOLE_PROOF_BACKENDS[backend]
    return None


def _take(options: dict[str, Any], allowed: tuple[str, ...], prover: str) -> dict[str, Any]:
    unknown = sorted(k for k, v in options.items() if k not in allowed and v is not None)
    if unknown:
        raise ProverOptionError(f"prover {prover!r} takes no option {', '.join(unknown)}")
    return {k: v for k, v in options.items() if v is not None}


def load_retriever(index_dir: str | Path) -> PremiseRetriever:
    """The dense retriever saved in an index folder (from `proofsmith index build`)."""
    from proofsmith.retrieval.errors import RetrievalInputError
    from proofsmith.retrieval.retriever import DenseRetriever

    try:
        # its hits are not RetrievedPremise tuples but carry the name, statement and score the prover reads
        return cast(PremiseRetriever, DenseRetriever.load(index_dir))
    except RetrievalInputError as exc:
        raise ProverOptionError(f"retriever {str(index_dir)!r}: {exc}") from None


def _resolve_retriever(options: dict[str, Any]) -> None:
    if isinstance(options.get("retriever"), (str, Path)):
        options["retriever"] = load_retriever(options["retriever"])


def _hammer_option(options: dict[str, Any]) -> bool:
    """The `hammer` option: CoqHammer's tactics join the prover; refused where CoqHammer is not installed."""
    value = options.pop("hammer", False)
    if value in (True, "true", "on", 1):
        from proofsmith.checker.coq.hammer import missing_reason

        reason = missing_reason()
        if reason is not None:
            raise ProverOptionError(f"hammer: {reason}")
        return True
    if value in (False, "false", "off", 0):
        return False
    raise ProverOptionError(f"hammer must be true or false, got {value!r}")


def uses_hammer(name: str, options: dict[str, Any]) -> bool:
    return "hammer" in PROVER_OPTIONS.get(name, ()) and options.get("hammer") in (True, "true", "on", 1)


def checker_settings(name: str, options: dict[str, Any], settings):
    """The checker settings the prover `name` with `options` needs: with the hammer, a tactic
    prelude that also loads CoqHammer's tactics (so its proofs re-check with that prelude)."""
    return settings.with_hammer() if uses_hammer(name, options) else settings


def _hammer_automation(options: dict[str, Any]) -> dict[str, float] | None:
    """The model-free generator's automation with the `hammer` option (None: its default)."""
    if not _hammer_option(options):
        return None
    from proofsmith.prover.generators.model_free import COQ_AUTOMATION

    return {**COQ_AUTOMATION, **HAMMER_AUTOMATION}


def _flag(options: dict[str, Any], name: str, default: bool) -> bool:
    value = options.pop(name, default)
    if value in (True, "true", "on", 1):
        return True
    if value in (False, "false", "off", 0):
        return False
    raise ProverOptionError(f"{name} must be true or false, got {value!r}")


def _memory_generator(options: dict[str, Any], required: bool):
    """The tactic-memory generator of the memory options (None without memory, unless `required`);
    pops them."""
    opened = _shared_memory(options)
    if opened is None:
        if required:
            raise ProverOptionError(
                "memory-search needs memory=TRACE_DIR (a folder written by `proofsmith trace`) or a saved tactic memory "
                "folder; `proofsmith eval --benchmark coq-library` sets it to the benchmark's own trace"
            )
        return None
    from proofsmith.prover.generators.tactic_memory import TacticMemoryGenerator

    memory, online = opened
    return TacticMemoryGenerator(memory, online=online)


def _shared_memory(options: dict[str, Any]):
    """The tactic memory of the options memory, memory_split, memory_online, memory_protocol and
    memory_mutants (popped), and whether it learns online; None without memory. Provers built in one
    process (eval workers) share the memory."""
    source = options.pop("memory", None)
    split = options.pop("memory_split", "random")
    online = _flag(options, "memory_online", True)
    protocol = _memory_protocol(options)
    mutants = options.pop("memory_mutants", None)
    if source is None:
        if mutants is not None:
            raise ProverOptionError("memory_mutants=CORPUS adds mutants to a tactic memory: give memory=TRACE_DIR too")
        return None
    from proofsmith.prover.tactic_memory import TacticMemoryError, shared_memory

    try:
        # a chronological memory never learns online (prover.generators.tactic_memory)
        memory = shared_memory(source, split, online and protocol == "random", protocol, mutants)
    except TacticMemoryError as exc:
        raise ProverOptionError(f"memory {str(source)!r}: {exc}") from None
    return memory, online


def run_record(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """What an eval run writes into its run.json beside the prover's options: with memory_mutants, what
    the mutant corpus added to the tactic memory and what it left out and why (prover.memory_mutants;
    the memory is opened here, then shared and cached, so a bad corpus is refused before the run
    starts); {} otherwise."""
    if options.get("memory_mutants") is None or "memory_mutants" not in PROVER_OPTIONS.get(name, ()):
        return {}
    opened = _shared_memory(dict(options))
    assert opened is not None  # memory_mutants without memory raises
    return {"memory_mutants": opened[0].source["mutants"]}


def _memory_protocol(options: dict[str, Any]) -> str:
    """The option memory_protocol (popped): random (a strategy's train part) or chronological (the
    library before each target; prover.tactic_memory)."""
    from proofsmith.prover.tactic_memory import PROTOCOLS

    protocol = options.pop("memory_protocol", "random")
    if protocol not in PROTOCOLS:
        raise ProverOptionError(f"memory_protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    return protocol


def _memory_share(options: dict[str, Any], zero_allowed: bool = False) -> float:
    share = float(options.pop("memory_share", DEFAULT_MEMORY_SHARE))
    if zero_allowed and share == 0.0:
        return share
    if not 0.0 < share < 1.0:
        interval = "[0, 1) (0: the memory only shows similar proofs, with proof_retrieval=true)" if zero_allowed else "(0, 1)"
        raise ProverOptionError(f"memory_share must be in {interval}, got {share}")
    return share


def benchmark_defaults(name: str, options: dict[str, Any], benchmark: str, data_path: str, split: str) -> dict[str, Any]:
    """The options with what a prover takes from the benchmark it runs on.

    On coq-library the tactic memory must hold the train part of the strategy under test and
    nothing else (no leaks): `memory-search` without `memory` remembers the benchmark's own
    trace; a `memory` that is the benchmark's trace gets the split's strategy (random/test ->
    random), and a `memory_split` naming another strategy is refused (that strategy's train part
    can hold this split's test theorems).
    """
    takes_memory = "memory" in PROVER_OPTIONS.get(name, ())
    if not takes_memory:
        return options
    memory = options.get("memory")
    if options.get("memory_mutants") is not None and benchmark == "coq-mutants":
        raise ProverOptionError("memory_mutants on coq-mutants would remember the proofs of the benchmark's own "
                                "theorems (mutants are kept by the trace's parts, not by the corpus's split)")
    if options.get("memory_protocol", "random") != "random" and benchmark != "coq-library":
        raise ProverOptionError(f"memory_protocol={options['memory_protocol']} orders a traced library's theorems; "
                                f"{benchmark} is not one (use --benchmark coq-library)")
    if benchmark != "coq-library":
        if name == "memory-search" and memory is None:
            raise ProverOptionError(f"memory-search on {benchmark} needs --prover-option memory=TRACE_DIR (a folder "
                                    "written by `proofsmith trace`) or a saved tactic memory folder")
        return options
    strategy = split.split("/", 1)[0]
    if memory is None:
        return {**options, "memory": data_path, "memory_split": strategy} if name == "memory-search" else options
    if Path(str(memory)).resolve() != Path(data_path).resolve():
        return options
    given = options.get("memory_split")
    if given is not None and given != strategy:
        raise ProverOptionError(f"memory_split={given} on {split} would remember {given}/train.json of the "
                                f"benchmark's own trace, which can hold this split's test theorems; use "
                                f"memory_split={strategy}")
    return {**options, "memory_split": strategy}


def _portfolio(options: dict[str, Any]) -> Prover:
    from proofsmith.prover.portfolio import PortfolioProver

    options = _take(options, PROVER_OPTIONS["portfolio"], "portfolio")
    return PortfolioProver(hammer=_hammer_option(options))


def _language_model(generator: TacticGenerator, needed_by: str) -> LanguageModelGenerator:
    """`generator` as the language model `needed_by` prompts (ProverOptionError for another kind)."""
    from proofsmith.prover.generators.base import LanguageModelGenerator

    if not isinstance(generator, LanguageModelGenerator):
        raise ProverOptionError(f"{needed_by} needs a language-model generator, not {type(generator).__name__}")
    return generator


def _model_generator(options: dict[str, Any], given: TacticGenerator | None, default: str = "auto") -> TacticGenerator:
    """The generator `given` by the caller (make_prover's model_generator), else the one the model options load."""
    if given is not None:
        return given
    from proofsmith.prover.generators import make_generator

    gen_options = {k: options.pop(k) for k in _GENERATOR_OPTIONS if k in options}
    kind = gen_options.pop("generator", "openai-server" if "model_url" in gen_options else default)
    if kind == "model-free":
        raise ProverOptionError("use the prover 'model-free-search' for the model-free generator")
    if kind == "openai-server" and "model_url" not in gen_options:
        raise ProverOptionError("generator=openai-server needs model_url=URL (--model-url), the server's address")
    if kind != "openai-server" and "model_url" in gen_options:
        raise ProverOptionError(f"model_url is for a served model (generator=openai-server), not generator={kind}")
    if kind == "openai-server":
        from proofsmith.prover.generators.openai_server import ServedModelError

        if options.get("model") is None:
            raise ProverOptionError(f"model_url {gen_options['model_url']}: name the served model with --model NAME "
                                    "(the name the server lists under /v1/models)")
        try:
            return make_generator(kind, options.pop("model"), **gen_options)
        except (ValueError, ServedModelError) as exc:
            raise ProverOptionError(str(exc)) from None
    return make_generator(kind, options.pop("model", None), **gen_options)


def _search(options: dict[str, Any], model_generator: TacticGenerator | None) -> Prover:
    from proofsmith.prover.generators.mixture import MixtureGenerator
    from proofsmith.prover.generators.model_free import ModelFreeGenerator
    from proofsmith.prover.search import BestFirstSearchProver

    options = _take(options, PROVER_OPTIONS["search"], "search")
    automation = _hammer_automation(options)
    proof_retrieval = _flag(options, "proof_retrieval", False)
    if proof_retrieval and options.get("memory_protocol", "random") != "random":
        raise ProverOptionError("proof_retrieval=true does not yet honour memory_protocol=chronological (its similar "
                                "proofs would come from the whole library); leave one of them out")
    if proof_retrieval and options.get("memory") is None:
        raise ProverOptionError("proof_retrieval=true shows the model similar proofs from the tactic memory: "
                                "give memory=TRACE_DIR (or a saved tactic memory folder) too")
    memory = _memory_generator(options, required=False)
    memory_share = _memory_share(options, zero_allowed=True) if memory is not None else 0.0
    if memory is not None and memory_share == 0.0 and not proof_retrieval:
        raise ProverOptionError("memory_share=0 leaves the tactic memory nothing to do: it proposes no tactics, "
                                "so give proof_retrieval=true (similar proofs in the prompt) or a share above 0")
    per_expansion_given = options.get("tactics_per_expansion") is not None
    share = float(options.pop("automation_share", DEFAULT_AUTOMATION_SHARE))
    model_tactics = int(options.pop("model_tactics", DEFAULT_MODEL_TACTICS))
    if not 0.0 <= share < 1.0:
        raise ProverOptionError(f"automation_share must be in [0, 1) (0: the model alone), got {share}")
    if model_tactics < 1:
        raise ProverOptionError(f"model_tactics must be at least 1, got {model_tactics}")
    _resolve_retriever(options)
    generator = _model_generator(options, model_generator)
    if proof_retrieval:
        from proofsmith.prover.generators.proof_retrieval import ProofRetrievalGenerator

        assert memory is not None  # proof_retrieval without memory is refused above
        # With memory_share=0 the memory proposes no tactics but still learns each proof found.
        generator = ProofRetrievalGenerator(_language_model(generator, "proof_retrieval=true"), memory.memory,
                                            learner=memory if memory_share == 0.0 else None)
    if share > 0:
        # The model proposes its few best tactics, the model-free generator its
        # (free) automation and premise tactics; see prover.generators.mixture.
        generator = MixtureGenerator([
            (generator, 1.0 - share, model_tactics),
            (ModelFreeGenerator(automation=automation), share, MODEL_FREE_TACTICS),
        ])
        options.setdefault("tactics_per_expansion", model_tactics + MODEL_FREE_TACTICS // 2)
    if memory is not None and memory_share > 0.0:
        generator = MixtureGenerator([(memory, memory_share, MEMORY_TACTICS), (generator, 1.0 - memory_share, None)])
        if not per_expansion_given:
            options["tactics_per_expansion"] = options.get("tactics_per_expansion", model_tactics) + MEMORY_TACTICS // 2
    return BestFirstSearchProver(generator, **options)


def _model_free_search(options: dict[str, Any]) -> Prover:
    from proofsmith.prover.generators.model_free import ModelFreeGenerator
    from proofsmith.prover.search import BestFirstSearchProver

    options = _take(options, PROVER_OPTIONS["model-free-search"], "model-free-search")
    automation = _hammer_automation(options)
    _resolve_retriever(options)
    options.setdefault("tactics_per_expansion", MODEL_FREE_TACTICS)
    prover = BestFirstSearchProver(ModelFreeGenerator(automation=automation), **options)
    prover.name = "model-free-search"
    return prover


def _memory_search(options: dict[str, Any]) -> Prover:
    from proofsmith.prover.generators.mixture import MixtureGenerator
    from proofsmith.prover.generators.model_free import ModelFreeGenerator
    from proofsmith.prover.search import BestFirstSearchProver

    options = _take(options, PROVER_OPTIONS["memory-search"], "memory-search")
    automation = _hammer_automation(options)
    slots = _flag(options, "premise_slots", False)
    slot_share = float(options.pop("premise_slot_share", DEFAULT_PREMISE_SLOT_SHARE))
    if not 0.0 < slot_share < 1.0:
        raise ProverOptionError(f"premise_slot_share must be in (0, 1), got {slot_share}")
    single_steps = _flag(options, "single_steps", False)
    if single_steps and not slots:
        raise ProverOptionError("single_steps=true splits the premise slots' templates into one-premise steps; "
                                "it needs premise_slots=true")
    source = options.get("memory")
    memory = _memory_generator(options, required=True)
    assert memory is not None  # required=True raises instead
    share = _memory_share(options)
    _resolve_retriever(options)
    parts = [(memory, share, MEMORY_TACTICS)]
    if slots:
        slot_generator = _premise_slot_generator(memory, source, single_steps)
        parts = [(memory, share * (1.0 - slot_share), MEMORY_TACTICS),
                 (slot_generator, share * slot_share, PREMISE_SLOT_TACTICS)]
        # the model-free part's apply/rewrite/exact take the same statement-ranked premises
        options.setdefault("retriever", slot_generator.statements)
    generator = MixtureGenerator([*parts, (ModelFreeGenerator(automation=automation), 1.0 - share, MODEL_FREE_TACTICS)])
    options.setdefault("tactics_per_expansion", MEMORY_TACTICS + MODEL_FREE_TACTICS + (PREMISE_SLOT_TACTICS if slots else 0))
    prover = BestFirstSearchProver(generator, **options)
    prover.name = "memory-search"
    return prover


def _premise_slot_generator(memory, source, single_steps: bool = False):
    """The premise-slot generator over a memory generator: the premises of the trace `source` (or, for
    a saved memory folder, of the trace it was built from); `single_steps` as in PremiseSlotGenerator."""
    from proofsmith.prover.generators.premise_slots import PremiseSlotGenerator
    from proofsmith.prover.premise_slots import shared_statements
    from proofsmith.prover.tactic_memory import TacticMemoryError

    trace = str(source) if (Path(str(source)) / "random").is_dir() else memory.memory.source.get("trace")
    if not trace or not (Path(trace) / "corpus.jsonl").is_file():
        raise ProverOptionError("premise_slots=true fills slots with the premises of the memory's trace "
                                f"(its corpus.jsonl), and this memory records none ({trace!r}); build it from a trace folder")
    try:
        return PremiseSlotGenerator(memory, shared_statements(trace, memory.memory.encoder), single_steps=single_steps)
    except TacticMemoryError as exc:
        raise ProverOptionError(str(exc)) from None


def _sample(options: dict[str, Any], model_generator: TacticGenerator | None) -> Prover:
    from proofsmith.prover.sampling import WholeProofSampler

    options = _take(options, PROVER_OPTIONS["sample"], "sample")
    temperature = options.pop("temperature", 1.0)
    _resolve_retriever(options)
    # Not CTranslate2 by default: its sampling does not honour a per-call seed (see
    # prover.generators.ctranslate2_generator), and pass@k runs are seeded.
    generator = _model_generator(options, model_generator, default="seeded")
    return WholeProofSampler(_language_model(generator, "the sample prover"), temperature=temperature, **options)


def _portfolio_then_search(options: dict[str, Any], model_generator: TacticGenerator | None) -> Prover:
    from proofsmith.prover.sequence import ProverSequence

    share = float(options.pop("portfolio_share", DEFAULT_PORTFOLIO_SHARE))
    if not 0.0 < share < 1.0:
        raise ProverOptionError(f"portfolio_share must be in (0, 1), got {share}")
    return ProverSequence([(_portfolio({"hammer": options.get("hammer")}), share), (_search(options, model_generator), 1.0)])


def _reference(options: dict[str, Any]) -> Prover:
    from proofsmith.prover.reference import ReferenceProver

    _take(options, PROVER_OPTIONS["reference"], "reference")
    return ReferenceProver()


_FACTORIES: dict[str, Callable[[dict[str, Any]], Prover]] = {
    "portfolio": _portfolio,
    "model-free-search": _model_free_search,
    "memory-search": _memory_search,
    "reference": _reference,
}
# The provers that run a language model: they also take the caller's own generator in its place.
_MODEL_FACTORIES: dict[str, Callable[[dict[str, Any], TacticGenerator | None], Prover]] = {
    "search": _search,
    "sample": _sample,
    "portfolio+search": _portfolio_then_search,
}
# The options that say which model to load and how: meaningless next to a generator the caller built.
_MODEL_LOADING_OPTIONS = ("model",) + _GENERATOR_OPTIONS


def check_prover(name: str, options: dict[str, Any]) -> None:
    """Refuse an unknown prover or an option it does not take, without building it (no model is loaded)."""
    if name not in PROVER_OPTIONS:
        raise ProverOptionError(f"unknown prover {name!r}; choose one of {', '.join(PROVERS)}")
    _take(options, PROVER_OPTIONS[name], name)
    temperature = options.get("sample_temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                                    or not temperature >= 0 or temperature == float("inf")):
        raise ProverOptionError(f"sample_temperature must be a number at least 0 (0: deterministic search), "
                                f"got {temperature!r}")


def make_prover(name: str, *, model_generator: TacticGenerator | None = None, **options: Any) -> Prover:
    """A prover by name; options that are None count as not given.

    `model_generator` stands in for the language model of a prover that runs one (search, sample,
    portfolio+search): the caller built it (a model already loaded, a served one, the model-free
    generator in a test), so the options that load a model are refused next to it.
    """
    check_prover(name, options)
    if model_generator is not None:
        from proofsmith.prover.generators.base import TacticGenerator

        if not isinstance(model_generator, TacticGenerator):
            # only Python code can give one: options from a command line or a config never name it
            raise ProverOptionError(f"model_generator must be a TacticGenerator, not {type(model_generator).__name__}")
    if name in _MODEL_FACTORIES:
        if model_generator is not None:
            loading = sorted(k for k in _MODEL_LOADING_OPTIONS if options.get(k) is not None)
            if loading:
                raise ProverOptionError(f"prover {name!r}: model_generator is the model; the options "
                                        f"{', '.join(loading)} would load another, leave them out")
        return _MODEL_FACTORIES[name](dict(options), model_generator)
    if model_generator is not None:
        raise ProverOptionError(f"prover {name!r} runs no language model, so it takes no model_generator")
    return _FACTORIES[name](dict(options))
