"""The configuration of `proofsmith iterate`: a TOML file read into pydantic models that refuse a wrong value.

Every key has a type, a default and a range; an unknown section or key, a
wrong type, a value out of range or a choice not on the list is an
`IterateConfigError` saying `section.key: what is wrong`, before anything is
written. `check_inputs` then refuses, also before round 0, an input the config
names that is missing or empty (the trace, the mutant corpus when mutants are
asked for). The config's dump is saved into the run folder, so a resumed run
can be compared key by key with the run that started it.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from proofsmith.prover.generators import GENERATOR_KINDS

if TYPE_CHECKING:
    from proofsmith.prover.generators.openai_server import OpenAIServerGenerator


class IterateConfigError(ValueError):
    """A bad iterate config, or an input it names that cannot be used; the message names the key."""


Positive = Annotated[int, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
Seconds = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]
# The conjecturer's language model: a local one (the round's own model, with its tokenizer), or one behind an
# OpenAI-compatible server (conjecturer.model_url and conjecturer.model; prover.generators.openai_server).
ConjecturerGenerator = Literal["auto", "seeded", "transformers", "ctranslate2", "ct2", "vllm", "openai-server"]
# The symbolic conjecturer's operators (iterate.symbolic).
SymbolicOperator = Literal["mutation", "numeral-to-variable", "drop-hypothesis", "change-numeral", "converse"]
SYMBOLIC_OPERATORS = ("mutation", "numeral-to-variable", "drop-hypothesis", "change-numeral", "converse")
# The stdlib split held out each round (its strategy's train part is the memory's seed and the human examples,
# and the pool's split unless pools.library_split says val).
HeldoutSplit = Literal["random/val", "novel_premises/val", "novel_premises/test", "random/test"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RunSection(Section):
    rounds: Positive = 3
    seed: int = 0


class DataSection(Section):
    trace: str = ".cache/trace/stdlib"  # proofsmith trace output
    mutants: str = ".cache/mutants/stdlib.jsonl"  # proofsmith synth mutate output (and its .source.jsonl)


class PoolsSection(Section):
    library: Count = 150  # theorems of the held-out strategy's library_split in the pool
    # "train": the split the memory is seeded from (re-proving it teaches the memory little); "val": that
    # strategy's val split, whose human proofs the run never reads (held-out is then its test split)
    library_split: Literal["train", "val"] = "train"
    library_per_round: Count = 50
    mutants: Count = 90
    mutants_per_round: Count = 30
    # false: slices in corpus order (so rounds see different library areas); true: drawn in random order,
    # so that every round's slice is alike
    shuffle: bool = False
    # A statement-only pool (no human proofs anywhere in the run): a Coq statements benchmark of eval
    # (minif2f-coq valid, putnam-coq after `make setup-putnam`, or your own JSON Lines in the miniF2F-Coq
    # format through statements_data); the cumulative share proved over rounds is STP's metric.
    statements: Count = 0
    statements_per_round: Count = 0
    statements_benchmark: Literal["minif2f-coq", "putnam-coq"] = "minif2f-coq"
    statements_split: str = "valid"
    statements_data: str = ""  # "": the bundled copy


class ProverSection(Section):
    name: str = "search"
    model: str = "default"  # the starting model
    workers: Positive = 2
    budget_s: Seconds = 20.0
    tactic_timeout_s: Seconds = 5.0
    attempts: Positive = 2  # per pool statement: its empirical pass rate
    conjecture_attempts: Positive = 4
    # > 0: attempt k at a statement samples the search order with seed run.seed + k (prover.search), so that
    # attempts differ and a pass rate can fall between 0 and 1 (STP's "barely provable"); 0: every attempt
    # is the same deterministic search. Held-out evaluation always searches deterministically.
    sample_temperature: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    options: dict[str, Any] = Field(default_factory=dict)  # prover.registry.make_prover's (model is set per round)


class ConjecturerSection(Section):
    inputs_per_round: Count = 24
    samples_per_input: Positive = 1
    temperature: Seconds = 1.0
    max_tokens: Positive = 96
    max_prompt_tokens: Positive = 512
    min_seed_rate: Share = 0.35
    empty_lemma_p: Share = 0.5
    max_lemma_share: Share = 0.10
    max_pass_rate: Share = 0.25
    elegance_drop: Share = 0.20
    cap: Count = 0  # 0: the number of dataset statements attempted in the round (STP)
    elaborate_timeout_s: Seconds = 10.0
    generator: ConjecturerGenerator = "auto"
    threads: Count = 0  # 0: the generator's default
    # A served conjecturer (generator = "openai-server"): the server's address,
    # the name it serves the model under (its /v1/models), the endpoint and the environment variable holding the
    # API key ("": OPENAI_API_KEY when set). It conjectures every round; the run's own model does not.
    model_url: str = ""
    model: str = ""
    endpoint: Literal["chat", "completions"] = "chat"
    api_key_env: str = ""
    # Where conjectures come from: the language model (prompted with seed and lemma), and/or the symbolic
    # conjecturer (iterate.symbolic: mutation of the seeds and generalising operators); both feed the selection.
    sources: list[Literal["model", "symbolic"]] = Field(default_factory=lambda: ["model"], min_length=1)
    symbolic_per_seed: Positive = 6  # symbolic conjectures kept per seed
    operators: list[SymbolicOperator] = Field(default_factory=lambda: list(SYMBOLIC_OPERATORS), min_length=1)
    mutation_attempts: Count = 24  # discovery steps per mutation rule per seed; 0: generalising operators only

    def served_generator(self) -> OpenAIServerGenerator:
        """The served conjecturer (model_url, model, endpoint, api_key_env), its instruction the chat's system
        turn. The server's /models is asked on the way: one that is down or refuses the key raises ServedModelError."""
        from proofsmith.data_synth.conjecture import CONJECTURE_INSTRUCTION
        from proofsmith.prover.generators import make_generator
        from proofsmith.prover.generators.openai_server import OpenAIServerGenerator

        gen = make_generator("openai-server", self.model, model_url=self.model_url, endpoint=self.endpoint,
                             api_key_env=self.api_key_env or None, system_instructions=(CONJECTURE_INSTRUCTION,))
        assert isinstance(gen, OpenAIServerGenerator)
        return gen


class TrainingSection(Section):
    # false: no language model is trained (a round's learner is the tactic memory alone)
    enabled: bool = True
    max_steps: Positive = 60
    batch_size: Positive = 8
    learning_rate: Seconds = 1e-4
    max_length: Positive = 384
    max_prompt_tokens: Positive = 320
    train_layers: Annotated[int, Field(ge=-1)] = -1  # -1: all
    threads: Count = 0
    mutation_examples: Count = 400  # round 0: the first conjecturer set
    mutation_replay: Count = 50  # later rounds
    human_examples: Count = 300  # traced human steps of random/train, each round
    max_state_chars: Positive = 1200
    device: Literal["auto", "cpu"] = "auto"


class HeldoutSection(Section):
    # the stdlib split sampled each round (stdlib_val theorems of it, in context); a test split here is the
    # measurement itself: its theorems never enter the pool or the memory, nor its strategy's val part unless
    # pools.library_split = "val" makes that part the pool (statements only)
    stdlib_split: HeldoutSplit = "random/val"
    stdlib_val: Count = 30
    minif2f_valid: Count = 20
    stdlib_test: Count = 100  # --final only
    minif2f_test: Count = 50  # --final only
    budget_s: Seconds = 20.0
    seed: int = 0


class MemorySection(Section):
    enabled: bool = True  # the tactic memory learns every verified proof of a round
    from_trace: bool = True  # round 0's memory: the traced proofs of the held-out strategy's train part
    # which conjecture proofs it learns: every proved conjecture, or those the STP selection keeps
    conjectures: Literal["all", "kept"] = "all"


class IterateConfig(Section):
    run: RunSection = RunSection()
    data: DataSection = DataSection()
    pools: PoolsSection = PoolsSection()
    prover: ProverSection = ProverSection()
    conjecturer: ConjecturerSection = ConjecturerSection()
    training: TrainingSection = TrainingSection()
    heldout: HeldoutSection = HeldoutSection()
    memory: MemorySection = MemorySection()

    @model_validator(mode="after")
    def _served_conjecturer(self) -> IterateConfig:
        c = self.conjecturer
        if self.served_conjecturer:
            from proofsmith.prover.generators.openai_server import normalize_base_url

            if not c.model_url:
                raise ValueError('conjecturer.generator: "openai-server" needs conjecturer.model_url, the address of '
                                 "the OpenAI-compatible server (e.g. http://localhost:8000/v1)")
            if not c.model:
                raise ValueError("conjecturer.model: name the model the server at conjecturer.model_url serves "
                                 "(as its /v1/models lists it)")
            try:
                normalize_base_url(c.model_url)
            except ValueError as exc:
                raise ValueError(f"conjecturer.model_url: {exc}") from None
            if "model" not in c.sources:
                raise ValueError("conjecturer.model_url: conjecturer.sources has no \"model\", so the served model "
                                 "would never be asked; add it or leave model_url out")
        else:
            for key in ("model_url", "model", "api_key_env"):
                if getattr(c, key):
                    raise ValueError(f"conjecturer.{key} is for a served conjecturer (generator = \"openai-server\"); "
                                     f"a local one ({c.generator}) is the round's own model")
            if c.endpoint != "chat":
                raise ValueError(f"conjecturer.endpoint is for a served conjecturer (generator = \"openai-server\"), "
                                 f"not generator = {c.generator!r}")
        return self

    @property
    def served_conjecturer(self) -> bool:
        """The conjecturer is a model behind an OpenAI-compatible server (not the run's own model)."""
        return self.conjecturer.generator == "openai-server"

    @model_validator(mode="after")
    def _prover_trains(self) -> IterateConfig:
        from proofsmith.prover.registry import PROVER_OPTIONS, ProverOptionError, check_prover

        options = dict(self.prover.options)
        if "model" in options:
            raise ValueError("prover.options.model: the model is prover.model (each round sets its own)")
        if "sample_temperature" in options:
            raise ValueError("prover.options.sample_temperature: set prover.sample_temperature instead (it applies "
                             "to the pool and conjecture attempts, not to held-out evaluation)")
        if self.prover.sample_temperature > 0 and "sample_temperature" not in PROVER_OPTIONS[self.prover.name]:
            takes = ", ".join(n for n, o in PROVER_OPTIONS.items() if "sample_temperature" in o)
            raise ValueError(f"prover.sample_temperature: {self.prover.name!r} does not sample its search order; "
                             f"use one that does ({takes}), or set it to 0")
        try:
            check_prover(self.prover.name, options)
        except ProverOptionError as exc:
            raise ValueError(f"prover.name / prover.options: {exc}") from None
        if "model" not in PROVER_OPTIONS[self.prover.name]:
            if self.training.enabled:
                takes = ", ".join(n for n, o in PROVER_OPTIONS.items() if "model" in o)
                raise ValueError(f"prover.name: {self.prover.name!r} runs no model, so iteration cannot train it; "
                                 f"use one that takes a model ({takes}), or set training.enabled = false")
            if not self.memory.enabled:
                raise ValueError(f"memory.enabled: {self.prover.name!r} runs no model and training is off, "
                                 "so without the memory nothing learns")
        return self

    @model_validator(mode="after")
    def _pool_not_heldout(self) -> IterateConfig:
        split = f"{self.strategy}/{self.pools.library_split}"
        if self.pools.library_split != "train" and self.heldout.stdlib_split == split:
            raise ValueError(f"pools.library_split: \"{self.pools.library_split}\" draws the pool from {split}, which "
                             f"heldout.stdlib_split also holds out; set heldout.stdlib_split = \"{self.strategy}/test\"")
        return self

    @property
    def library_pool_split(self) -> str:
        """The trace split the library pool is drawn from ({strategy}/train or {strategy}/val)."""
        return f"{self.strategy}/{self.pools.library_split}"

    @property
    def minif2f_valid_in_pool(self) -> bool:
        """miniF2F-Coq valid statements are in the pool: its held-out set is then the test split."""
        p = self.pools
        return (bool(p.statements) and p.statements_benchmark == "minif2f-coq" and p.statements_split == "valid"
                and not p.statements_data)

    @property
    def strategy(self) -> str:
        """The split strategy of the held-out stdlib split (random or novel_premises)."""
        return self.heldout.stdlib_split.split("/")[0]

    def identity(self) -> dict[str, Any]:
        """What a resumed run must share with the run that started it (workers and threads may change)."""
        data = self.model_dump()
        for section, key in MAY_CHANGE:
            data[section].pop(key, None)
        return data

    def differing(self, previous: dict[str, Any]) -> list[str]:
        """Keys whose value differs from a stored identity; a key the stored one lacks (a run started
        before the key existed) counts as its default."""
        defaults = IterateConfig().model_dump()
        out = []
        for section, keys in self.identity().items():
            for key, value in keys.items():
                before = previous.get(section, {}).get(key, defaults[section][key])
                if isinstance(before, int) and not isinstance(before, bool) and isinstance(value, float):
                    before = float(before)
                if before != value:
                    out.append(f"{section}.{key}")
        return out

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), indent=1, sort_keys=True)


# Keys a resumed run may change (they do not change what is computed).
MAY_CHANGE = {("prover", "workers"), ("conjecturer", "threads"), ("training", "threads"), ("training", "device"),
              ("conjecturer", "api_key_env")}

_TYPE_NAMES = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string", "dict": "a table"}


def _message(error: dict[str, Any]) -> str:
    """One pydantic error as `section.key: what is wrong, got VALUE`."""
    loc = [str(part) for part in error["loc"]]
    where = ".".join(loc)
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        if len(loc) == 1:
            return f"unknown section [{loc[0]}]; sections: {', '.join(IterateConfig.model_fields)}"
        section = IterateConfig.model_fields.get(loc[0])
        takes = ", ".join(section.annotation.model_fields) if section is not None else ""  # type: ignore[union-attr]
        return f"{where}: unknown key; [{loc[0]}] takes {takes}"
    if kind == "model_type" or kind == "dict_type":
        return f"{where}: expected a table [{where}], got {value!r}"
    if kind.endswith("_type") or kind in ("int_from_float", "bool_parsing", "int_parsing", "float_parsing"):
        name = kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_from_float")
        if kind == "int_from_float":
            name = "int"
        return f"{where}: expected {_TYPE_NAMES.get(name, name)}, got {value!r}"
    if kind == "greater_than":
        return f"{where}: must be positive, got {value!r}"
    if kind == "greater_than_equal":
        bound = error.get("ctx", {}).get("ge")
        return f"{where}: must be at least {bound}, got {value!r}"
    if kind == "less_than_equal":
        return f"{where}: must be between 0 and 1, got {value!r}"
    if kind == "literal_error":
        return f"{where}: expected one of {error['ctx']['expected']}, got {value!r}"
    if kind == "value_error":  # a model validator's own message, which names its key
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {error['msg']}, got {value!r}"


def validate(raw: dict[str, Any], where: str = "config") -> IterateConfig:
    try:
        return IterateConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = _message(dict(first))
        if first["loc"] == ("conjecturer", "generator") and first.get("input") in GENERATOR_KINDS:
            message += (" (the conjecturer samples statements with a language model: a local one, or one behind an "
                        "OpenAI-compatible server with generator = \"openai-server\", model_url and model)")
        raise IterateConfigError(f"{where}: {message}") from None


def load_config(path: str | Path) -> IterateConfig:
    path = Path(path)
    if not path.is_file():
        raise IterateConfigError(f"{path}: no such config file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise IterateConfigError(f"{path}: not valid TOML: {exc}") from None
    return validate(raw, str(path))


def check_inputs(config: IterateConfig, where: str = "config") -> None:
    """Refuse, before round 0, an input the config names that is missing or empty."""
    trace = Path(config.data.trace)
    splits = {f"{config.strategy}/train", config.library_pool_split}
    for split in sorted(splits) + ([config.heldout.stdlib_split] if config.heldout.stdlib_val else []):
        path = trace / f"{split}.json"
        if not path.is_file():
            raise IterateConfigError(f"{where}: data.trace: {trace} has no {split}.json (a folder written by "
                                     "`proofsmith trace`)")
        if path.stat().st_size <= 2:
            raise IterateConfigError(f"{where}: data.trace: {path} is empty")
    wants_mutants = config.pools.mutants or config.training.mutation_examples or config.training.mutation_replay
    mutants = Path(config.data.mutants)
    if wants_mutants:
        asked = ", ".join(k for k, v in (("pools.mutants", config.pools.mutants),
                                         ("training.mutation_examples", config.training.mutation_examples),
                                         ("training.mutation_replay", config.training.mutation_replay)) if v)
        if not mutants.is_file():
            raise IterateConfigError(f"{where}: data.mutants: {mutants} does not exist, and {asked} asks for mutants "
                                     "(write it with `proofsmith synth mutate`, or set those to 0)")
        if mutants.stat().st_size == 0:
            raise IterateConfigError(f"{where}: data.mutants: {mutants} is empty, and {asked} asks for mutants")
    p = config.pools
    if p.statements:
        from proofsmith.eval.benchmarks import BenchmarkSelectionError, load_benchmark
        from proofsmith.formats.json_files import InputFileError

        try:
            found = load_benchmark(p.statements_benchmark, p.statements_split, p.statements_data or None).problems
        except (BenchmarkSelectionError, InputFileError) as exc:
            raise IterateConfigError(f"{where}: pools.statements_benchmark / statements_split / statements_data: "
                                     f"{exc}") from None
        if not found:
            raise IterateConfigError(f"{where}: pools.statements: {p.statements_benchmark} {p.statements_split} "
                                     "holds no statements")
    if config.served_conjecturer:
        from proofsmith.prover.generators.openai_server import ServedModelError

        try:
            config.conjecturer.served_generator().close()  # its /models answered: the server is up and takes the key
        except (ServedModelError, ValueError) as exc:
            raise IterateConfigError(f"{where}: conjecturer.model_url / model / api_key_env: {exc}") from None
