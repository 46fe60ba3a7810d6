"""Expert iteration with self-play conjecturing (STP): `proofsmith iterate`.

Round 0 trains the starting model on the first conjecturer set (the mutation
corpus read as parent + premise -> mutant, data_synth.conjecture) and on a
sample of traced human proof steps, then measures the held-out pass rate.
Every later round r, with the model of round r-1:

1. prove: a fresh slice of the pool (library theorems of random/train, each in
   its own file context, and mutants of train parents), `attempts` searches
   per statement (their share of successes is the empirical pass rate);
   verified proofs are traced (state before, tactic) through the checker;
2. conjecture: seeds are the statements proved so far with a success rate
   above 0.35; each input is (seed, a lemma its proof uses or none); the model
   completes an opening; each conjecture is elaborated in its seed's
   environment, keyed and de-duplicated (data_synth.conjecture);
3. prove the new conjectures (`conjecture_attempts` each) and select the ones
   that train the conjecturer (proved, pass rate < 0.25, proof uses the lemma,
   elegance filter, cap);
4. memory: the tactic memory (prover.tactic_memory, when installed) learns
   every verified proof of the round;
5. train: one model for both roles, resuming from round r-1's, on every
   verified proof so far (expert iteration), the kept conjectures, and a
   replay of mutation and human examples;
6. evaluate on held-out statements it never trains on: a sample of the
   stdlib's random/val (in context) and of miniF2F-Coq valid (test splits
   only with --final, after the last round);
7. write the round's data manifest (inputs with SHA-256) and one metrics line.

Resumable: each stage leaves its output in runs/NAME/round-R/ and a mark in
round-R/state.json; proving appends one line per statement (eval.results),
training resumes from its last checkpoint, held-out runs are eval runs
(resumable themselves). Rerunning the same command skips finished work.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proofsmith.formats.coq_load_path import LoadPath
from proofsmith.formats.json_files import JsonlAppender, read_json, read_jsonl, write_json, write_jsonl
from proofsmith.checker.types import NextState, ProofFinished, Theorem
from proofsmith.data_synth import conjecture as cj
from proofsmith.eval.benchmarks.problem import Problem
from proofsmith.prover.base import Budget
from proofsmith.prover.iterate_config import IterateConfig

log = logging.getLogger(__name__)

METRICS = "metrics.jsonl"
CONFIG_COPY = "config.json"


class IterateError(ValueError):
    """A run that cannot go on as asked; the message says why."""


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _dir_hash(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(path).as_posix().encode())
            h.update(_sha256_file(f).encode())
    return h.hexdigest()


# ------------------------------------------------------------------ pools


@dataclass
class Pools:
    library: list[Problem]
    mutants: list[Problem]
    heldout_names: set[str]  # library theorems of random/val and random/test (never trained on)
    library_info: dict[str, dict[str, Any]]  # name -> statement, type, proof (human)
    mutant_records: dict[str, Any]  # name -> MutantRecord


def library_problems(trace: Path, split: str, count: int, seed: int) -> tuple[list[Problem], dict[str, dict[str, Any]]]:
    """`count` theorems of a traced library's split drawn with `seed`, each in its file context.

    Only the drawn ones are placed (placing all 10k random/train theorems takes minutes).
    """
    from proofsmith.checker.coq.file_context import THEOREM_WORDS
    from proofsmith.eval.benchmarks.coq_library import library_problem, traced_libraries
    from proofsmith.retrieval.benchmark import read_split, split_file

    path = split_file(trace, split, "a trace folder written by `proofsmith trace`")
    libraries, _ = traced_libraries(trace)
    seen: set[str] = set()
    theorems = []
    for t in read_split(path):
        if t.extra.get("kind") in THEOREM_WORDS and t.full_name not in seen and t.traced_tactics:
            seen.add(t.full_name)
            theorems.append(t)
    if count < len(theorems):
        keep = sorted(random.Random(seed).sample(range(len(theorems)), count))
        theorems = [theorems[i] for i in keep]
    problems, info = [], {}
    for t in theorems:
        library = libraries[Path(t.file_path).parts[0]]
        problems.append(library_problem(t, library, split))
        info[t.full_name] = {
            "type": t.extra.get("type", ""), "statement": t.extra.get("statement", ""),
            "proof": t.extra.get("proof", ""), "file_path": t.file_path,
        }
    return problems, info


def split_names(trace: Path, split: str) -> set[str]:
    from proofsmith.retrieval.benchmark import read_split, split_file

    return {t.full_name for t in read_split(split_file(trace, split, "a trace folder"))}


def mutant_problems(path: Path, count: int, exclude_parents: set[str], seed: int) -> tuple[list[Problem], dict[str, Any]]:
    from proofsmith.checker.types import Source
    from proofsmith.data_synth.mutant_corpus import read_records

    records = [r for _, r in read_records(path) if r.split == "train" and r.parent not in exclude_parents]
    if count < len(records):
        keep = sorted(random.Random(seed).sample(range(len(records)), count))
        records = [records[i] for i in keep]
    problems = [
        Problem(Theorem(r.name, r.statement, r.header, backend="coq", source=Source(*r.source_parts())),
                split="mutants", category=f"mutant-{r.rule}", extra={"parent": r.parent, "premise": r.premise})
        for r in records
    ]
    return problems, {r.name: r for r in records}


def conjecture_problem(record: dict[str, Any]) -> Problem:
    return Problem(Theorem(record["name"], record["statement"], record["header"], backend="coq"),
                   split="conjectures", category="conjecture", extra={"seed": record["seed"]})


# ------------------------------------------------------------------ proving


def prove_problems(problems: Sequence[Problem], prover: str, options: dict[str, Any], budget: Budget, workers: int,
                   ray: str | None, out_path: Path, context: dict[str, Any], progress: str | None = None) -> list[dict]:
    """Prove every problem not yet in `out_path` (eval.runner.prove_problems, the one proving loop); their records."""
    from proofsmith.eval.evaluator import EvaluatorSpec
    from proofsmith.eval.runner import prove_problems as prove_into

    spec = EvaluatorSpec("coq", prover, dict(options), budget, context, LoadPath())
    return prove_into(problems, spec, out_path, workers, ray, progress).by_problem(problems)


def pass_rate(record: dict[str, Any]) -> float:
    attempts = record.get("attempts") or 0
    return (record.get("successes") or 0) / attempts if attempts else 0.0


def trace_proof(session, theorem: Theorem, proof: str, timeout_s: float = 10.0) -> list[tuple[str, str]]:
    """(state before, tactic) for each line of a verified proof, as the checker runs it."""
    state = session.open(theorem, timeout_s)
    steps = []
    for line in proof.splitlines():
        tactic = line.strip()
        if not tactic:
            continue
        result = session.run(state, tactic, timeout_s)
        if not isinstance(result, (NextState, ProofFinished)):
            break
        steps.append((state.text, tactic))
        state = result.state
    return steps


# ------------------------------------------------------------------ training


def write_examples(path: Path, examples: Iterable[tuple[str, str, str]]) -> int:
    rows = [{"kind": k, "prompt": p, "completion": c} for k, p, c in examples]
    write_jsonl(path, rows)
    return len(rows)


def train_round_model(examples_path: Path, base_model: str, out_dir: Path, t: dict[str, Any], seed: int) -> dict[str, Any]:
    """Fine-tune `base_model` on a round's examples file (prover.fine_tuning.fine_tune, resuming from a checkpoint).

    The checkpoints go once the final model is saved: later rounds read OUT/final only.
    """
    from proofsmith.prover.fine_tuning import Example, FineTuneSettings, TrainingSets, fine_tune

    rows = [r for _, r in read_jsonl(examples_path)]
    settings = FineTuneSettings(
        model=None if base_model in ("default", "") else base_model, max_steps=t["max_steps"],
        learning_rate=t["learning_rate"], batch_size=t["batch_size"], max_prompt_tokens=t["max_prompt_tokens"],
        max_length=t["max_length"], save_steps=max(5, t["max_steps"] // 4), save_total_limit=1,
        logging_steps=max(1, t["max_steps"] // 8), train_layers=t["train_layers"] if t["train_layers"] >= 0 else None,
        threads=t["threads"] or None, device="cpu" if t["device"] == "cpu" else None, seed=seed,
        keep_checkpoints=False, progress=False,
    )
    result = fine_tune(settings, out_dir, lambda _: TrainingSets([Example(r["prompt"], r["completion"]) for r in rows]),
                       str(examples_path))
    figures = {
        "examples": result.train_examples, "steps": result.steps, "train_loss": result.train_loss,
        "first_loss": result.first_loss, "last_loss": result.last_loss, "resumed_from": result.resumed_from,
        "seconds": result.seconds, "model": result.model, "base_model": result.base_model,
        "kinds": dict(Counter(r.get("kind", "") for r in rows)),
    }
    write_json(out_dir / "summary.json", figures, indent=1)
    return figures


# ------------------------------------------------------------------ the run


class IterationRun:
    def __init__(self, config: IterateConfig, out: Path, ray: str | None = None, final: bool = False,
                 progress: bool = True, stop_after: str | None = None):
        self.config = config
        self.out = Path(out)
        self.ray = ray
        self.final = final
        self.progress = progress
        self.stop_after = stop_after  # "round:stage", for tests that want a partial run
        self.rounds = config["run"]["rounds"]
        self.seed = config["run"]["seed"]
        self.trace = Path(config["data"]["trace"])
        self.mutants_path = Path(config["data"]["mutants"])
        self._pools: Pools | None = None
        self._library = None
        self._lemma_index = None
        self._source_keys: dict[str, str] | None = None
        self._tokenizer = None

    # -------------------------------------------------------------- bookkeeping

    def round_dir(self, r: int) -> Path:
        return self.out / f"round-{r}"

    def _state_path(self, r: int) -> Path:
        return self.round_dir(r) / "state.json"

    def state(self, r: int) -> dict[str, Any]:
        path = self._state_path(r)
        return read_json(path) if path.is_file() else {}

    def mark(self, r: int, stage: str, info: dict[str, Any]) -> None:
        state = self.state(r)
        state[stage] = dict(info, finished_at=round(time.time(), 3))
        self.round_dir(r).mkdir(parents=True, exist_ok=True)
        write_json(self._state_path(r), state, indent=1)
        self._log(f"round {r}: {stage} done {json.dumps({k: v for k, v in info.items() if not isinstance(v, (list, dict))})}")
        if self.stop_after == f"{r}:{stage}":
            raise StopAfter(stage)

    def _log(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[iterate {stamp}] {text}", flush=True)

    def _check_identity(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / CONFIG_COPY
        identity = self.config.identity()
        if not path.is_file():
            write_json(path, identity, indent=1)
            return
        differing = self.config.differing(read_json(path))
        if differing:
            raise IterateError(f"{self.out} was started with another config ({', '.join(differing)} differ); "
                               "rerun with the same config to resume, or use a new --out")

    def model_of(self, r: int) -> str:
        """The model round r proves with: round r-1's trained model (the starting model before round 0)."""
        if r <= 0:
            return self.config["prover"]["model"]
        final = self.round_dir(r - 1) / "model" / "final"
        if not (final / "config.json").is_file():
            raise IterateError(f"round {r - 1} has no trained model at {final}")
        return str(final)

    def prover_options(self, model: str) -> dict[str, Any]:
        options = dict(self.config["prover"]["options"])
        options["model"] = None if model == "default" else model
        from proofsmith.prover.registry import PROVER_OPTIONS

        if "memory" in PROVER_OPTIONS.get(self.config["prover"]["name"], ()) and self.config["memory"]["enabled"]:
            memory = self.latest_memory()
            if memory is not None:
                options["memory"] = str(memory)
            elif self.config["memory"]["from_trace"]:
                options["memory"] = str(self.trace)  # its random/train proofs, before any round's memory
        return options

    def budget(self, attempts: int, wall_s: float | None = None) -> Budget:
        p = self.config["prover"]
        return Budget(wall_s=wall_s or p["budget_s"], attempts=attempts, tactic_timeout_s=p["tactic_timeout_s"],
                      seed=self.seed)

    # -------------------------------------------------------------- data

    def pools(self) -> Pools:
        if self._pools is None:
            p = self.config["pools"]
            heldout = split_names(self.trace, "random/val") | split_names(self.trace, "random/test")
            library, info = library_problems(self.trace, "random/train", p["library"], self.seed)
            mutants, records = ([], {})
            if p["mutants"] and self.mutants_path.is_file():
                mutants, records = mutant_problems(self.mutants_path, p["mutants"], heldout, self.seed)
            if p["shuffle"]:
                random.Random(self.seed).shuffle(library)
                random.Random(self.seed + 1).shuffle(mutants)
            self._pools = Pools(library, mutants, heldout, info, records)
        return self._pools

    def library(self):
        if self._library is None:
            from proofsmith.data_synth.mutation_run import MutationLibrary

            self._library = MutationLibrary.load(self.trace)
        return self._library

    def lemma_index(self) -> cj.LemmaIndex:
        if self._lemma_index is None:
            self._lemma_index = cj.LemmaIndex.from_corpus(self.library().corpus)
        return self._lemma_index

    def source_keys(self) -> dict[str, str]:
        """Library theorem keys (mutation's source statements log), name -> key."""
        if self._source_keys is None:
            keys = {}
            path = self.mutants_path.with_name(self.mutants_path.name + ".source.jsonl")
            for _, r in read_jsonl(path, missing_ok=True):
                if r.get("key"):
                    keys[r["name"]] = r["key"]
            self._source_keys = keys
        return self._source_keys

    def tokenizer(self, model: str):
        from transformers import AutoTokenizer

        from proofsmith.prover.model_store import resolve_model

        return AutoTokenizer.from_pretrained(resolve_model(None if model == "default" else model))

    # -------------------------------------------------------------- main

    def run(self) -> list[dict[str, Any]]:
        self._check_identity()
        for r in range(self.rounds + 1):
            if self._metrics_line(r) is not None:
                continue
            t0 = time.monotonic()
            if "started" not in self.state(r):
                self.mark(r, "started", {})
            if r == 0:
                self.round_zero()
            else:
                self.round(r)
            self.evaluate(r)
            self.finish_round(r, time.monotonic() - t0)
        if self.final:
            self.evaluate_final(self.rounds)
        self.write_report()
        return self.metrics()

    def metrics(self) -> list[dict[str, Any]]:
        return [rec for _, rec in read_jsonl(self.out / METRICS, missing_ok=True)]

    def _metrics_line(self, r: int) -> dict[str, Any] | None:
        return next((m for m in self.metrics() if m.get("round") == r), None)

    # -------------------------------------------------------------- round 0

    def round_zero(self) -> None:
        rd = self.round_dir(0)
        rd.mkdir(parents=True, exist_ok=True)
        if "examples" not in self.state(0):
            t = self.config["training"]
            tok = self.tokenizer(self.config["prover"]["model"])
            rows = self.mutation_rows(tok, t["mutation_examples"], seed=self.seed) + self.human_rows(tok, 0)
            n = write_examples(rd / "train.jsonl", rows)
            self.mark(0, "examples", {"examples": n, "sha256": _sha256_file(rd / "train.jsonl")})
        self.train(0)

    def mutation_rows(self, tokenizer, count: int, seed: int) -> list[tuple[str, str, str]]:
        from proofsmith.data_synth.mutant_corpus import read_records

        if not count or not self.mutants_path.is_file():
            return []
        pools = self.pools()
        lemma_of = self.lemma_index().by_full
        proof_of = {name: i["proof"] for name, i in self._all_library_info().items()}
        records = (r for _, r in read_records(self.mutants_path) if r.split == "train")
        examples = cj.mutation_examples(records, lemma_of, proof_of, pools.heldout_names, count, seed)
        fmt = cj.ConjectureFormat(tokenizer, self.config["conjecturer"]["max_prompt_tokens"])
        return [("conjecture-mutation", fmt.prompt(e.lemma, e.seed_statement, e.seed_proof), e.conjecture + ".")
                for e in examples]

    def _all_library_info(self) -> dict[str, dict[str, Any]]:
        """Human proofs of random/train theorems (the parents' proofs in conjecturer prompts)."""
        if not hasattr(self, "_train_info"):
            from proofsmith.retrieval.benchmark import read_split, split_file

            self._train_info = {
                t.full_name: {"proof": t.extra.get("proof", ""), "type": t.extra.get("type", "")}
                for t in read_split(split_file(self.trace, "random/train", "a trace folder"))
            }
        return self._train_info

    def human_rows(self, tokenizer, r: int) -> list[tuple[str, str, str]]:
        """A sample of traced human steps of random/train (never val/test): the prover's replay."""
        from proofsmith.prover.prompt import PromptFormat
        from proofsmith.prover.sft import normalize_tactic
        from proofsmith.retrieval.benchmark import read_split, split_file

        t = self.config["training"]
        if not t["human_examples"]:
            return []
        fmt = PromptFormat(tokenizer, max_prompt_tokens=t["max_prompt_tokens"])
        steps = []
        for thm in read_split(split_file(self.trace, "random/train", "a trace folder")):
            for s in thm.traced_tactics:
                if s.tactic.strip() and len(s.state_before) <= t["max_state_chars"]:
                    steps.append((s.state_before, normalize_tactic(s.tactic)))
        rng = random.Random(self.seed * 1000 + r)
        chosen = rng.sample(steps, min(t["human_examples"], len(steps)))
        return [("prover-human", fmt.tactic_prompt(state), tactic) for state, tactic in chosen]

    # -------------------------------------------------------------- a self-play round

    def round(self, r: int) -> None:
        rd = self.round_dir(r)
        rd.mkdir(parents=True, exist_ok=True)
        model = self.model_of(r)
        p = self.config["prover"]
        pools = self.pools()
        per_lib, per_mut = self.config["pools"]["library_per_round"], self.config["pools"]["mutants_per_round"]
        lib_slice = pools.library[(r - 1) * per_lib: r * per_lib]
        mut_slice = pools.mutants[(r - 1) * per_mut: r * per_mut]
        statements = lib_slice + mut_slice
        options = self.prover_options(model)
        context = {"round": r, "pool": "dataset", "seed": self.seed}

        if "prove" not in self.state(r):
            self._log(f"round {r}: proving {len(lib_slice)} library theorems and {len(mut_slice)} mutants with {model}")
            records = prove_problems(statements, p["name"], options, self.budget(p["attempts"]), p["workers"],
                                     self.ray, rd / "pool.jsonl", context, "prove" if self.progress else None)
            self.mark(r, "prove", {"attempted": len(records), "proved": sum(x["verdict"] == "proved" for x in records)})

        if "conjectures" not in self.state(r):
            self.make_conjectures(r, model)
        conj_records = [rec for _, rec in read_jsonl(rd / "conjectures.jsonl", missing_ok=True)]
        new = [c for c in conj_records if c["status"] == "new"]

        if "prove_conjectures" not in self.state(r):
            self._log(f"round {r}: proving {len(new)} new conjectures, {p['conjecture_attempts']} attempts each")
            records = prove_problems([conjecture_problem(c) for c in new], p["name"], options,
                                     self.budget(p["conjecture_attempts"]), p["workers"], self.ray,
                                     rd / "conjecture_results.jsonl", dict(context, pool="conjectures"),
                                     "prove conjectures" if self.progress else None)
            self.mark(r, "prove_conjectures", {"attempted": len(records),
                                               "proved": sum(x["verdict"] == "proved" for x in records)})

        if "traced" not in self.state(r):
            self.trace_proofs(r, statements, new)
        if "select" not in self.state(r):
            self.select(r, len(statements))
        if "memory" not in self.state(r):
            self.update_memory(r)
        if "examples" not in self.state(r):
            tok = self.tokenizer(model)
            rows = self.training_rows(r, tok)
            n = write_examples(rd / "train.jsonl", rows)
            self.mark(r, "examples", {"examples": n, "sha256": _sha256_file(rd / "train.jsonl"),
                                      "kinds": dict(Counter(k for k, _, _ in rows))})
        self.train(r)

    # -------------------------------------------------------------- conjectures

    def seeds(self, r: int) -> list[cj.Seed]:
        """Every statement proved in rounds 1..r (the latest proof), with its empirical success rate."""
        pools = self.pools()
        library = self.library()
        parents = {p.full_name: p for p in library.parents}
        keys = self.source_keys()
        index = self.lemma_index()
        seeds: dict[str, cj.Seed] = {}
        for k in range(1, r + 1):
            rd = self.round_dir(k)
            conj = {c["name"]: c for _, c in read_jsonl(rd / "conjectures.jsonl", missing_ok=True)}
            for file in ("pool.jsonl", "conjecture_results.jsonl"):
                for _, rec in read_jsonl(rd / file, missing_ok=True):
                    if rec.get("verdict") != "proved" or not rec.get("proof"):
                        continue
                    name, proof = rec["name"], rec["proof"]
                    human = ""
                    if name in pools.library_info:
                        info = pools.library_info[name]
                        parent = parents.get(name)
                        if parent is None:
                            continue
                        statement = f"Theorem {name.rsplit('.', 1)[-1]} : {' '.join(info['type'].split())}."
                        header, fallback, key = parent.header, parent.fallback_header, keys.get(name, "")
                        human = info.get("proof", "")
                    elif name in pools.mutant_records:
                        m = pools.mutant_records[name]
                        statement, header, fallback, key = m.statement, m.header, "", m.key
                        human = m.proof  # its verified proof names the premise and the parent
                    elif name in conj:
                        c = conj[name]
                        statement, header, fallback, key = c["statement"], c["header"], "", c["key"]
                    else:
                        continue
                    lemmas = index.lemmas_in(proof, near=name) or index.lemmas_in(cj.clean_proof(human), near=name)
                    seeds[name] = cj.Seed(name, statement, proof, header, key or cj.text_key(cj.statement_body(statement)),
                                          pass_rate(rec), tuple(lemmas[:8]), fallback)
        return list(seeds.values())

    def known_keys(self, r: int) -> dict[str, str]:
        """Key -> where it is known from: the library, the mutants, earlier conjectures."""
        known = {key: f"library {name}" for name, key in self.source_keys().items()}
        from proofsmith.data_synth.mutant_corpus import read_records

        if self.mutants_path.is_file():
            for _, m in read_records(self.mutants_path):
                known.setdefault(m.key, f"mutant {m.name}")
        for k in range(1, r):
            for _, c in read_jsonl(self.round_dir(k) / "conjectures.jsonl", missing_ok=True):
                if c.get("status") == "new":
                    known.setdefault(c["key"], f"conjecture {c['name']}")
        return known

    def make_conjectures(self, r: int, model: str) -> None:
        rd = self.round_dir(r)
        c = self.config["conjecturer"]
        generated_path = rd / "conjectures.generated.jsonl"
        if not generated_path.is_file():
            seeds = cj.select_seeds(self.seeds(r), c["min_seed_rate"])
            rng = random.Random(self.seed * 7919 + r)
            inputs = cj.conjecture_inputs(seeds, c["inputs_per_round"] if seeds else 0, rng, c["empty_lemma_p"],
                                          c["max_lemma_share"])
            self._log(f"round {r}: {len(seeds)} seeds, {len(inputs)} conjecture inputs")
            rows = self.generate(model, inputs, r) if inputs else []
            write_jsonl(generated_path, rows)
        generated = [rec for _, rec in read_jsonl(generated_path, missing_ok=True)]
        out_path = rd / "conjectures.jsonl"
        done = {rec["name"] for _, rec in read_jsonl(out_path, missing_ok=True)}
        known = self.known_keys(r)
        for _, rec in read_jsonl(out_path, missing_ok=True):
            if rec["status"] == "new":
                known.setdefault(rec["key"], f"conjecture {rec['name']}")
        todo = [g for g in generated if g["name"] not in done]
        if todo:
            from proofsmith.checker.registry import open_checker
            from proofsmith.checker.settings import CheckerSettings

            checker = open_checker("coq", CheckerSettings(workers=1))
            try:
                with JsonlAppender(out_path) as log_file, checker.session() as session:
                    for g in todo:
                        seed = cj.Seed(g["seed"], g["seed_statement"], g["seed_proof"], g["header"], g["seed_key"], 1.0,
                                       (), g.get("fallback_header", ""))
                        e = cj.elaborate(session, g["name"], g["body"], seed, c["elaborate_timeout_s"])
                        rec = dict(g, well_formed=e.well_formed, key=e.key, reason=e.reason, message=e.message,
                                   header=e.header or g["header"], statement=f"Theorem {g['name']} : {g['body']}.")
                        if not e.well_formed:
                            rec["status"] = "ill-formed"
                        elif e.key == g["seed_key"]:
                            rec["status"], rec["duplicate_of"] = "copy of seed", g["seed"]
                        elif e.key in known:
                            rec["status"], rec["duplicate_of"] = "duplicate", known[e.key]
                        else:
                            rec["status"] = "new"
                            known[e.key] = f"conjecture {g['name']}"
                        log_file.append(rec)
            finally:
                checker.close()
        recs = [rec for _, rec in read_jsonl(out_path, missing_ok=True)]
        self.mark(r, "conjectures", {"generated": len(recs), "well_formed": sum(x["well_formed"] for x in recs),
                                     "new": sum(x["status"] == "new" for x in recs)})

    def generate(self, model: str, inputs: Sequence[cj.ConjectureInput], r: int) -> list[dict[str, Any]]:
        from proofsmith.prover.generators import make_generator
        from proofsmith.prover.generators.base import DecodeRequest

        c = self.config["conjecturer"]
        options = {"threads": c["threads"]} if c["threads"] else {}
        gen = make_generator(c["generator"], None if model == "default" else model, **options)
        fmt = cj.ConjectureFormat(gen.prompt_format.tokenizer, c["max_prompt_tokens"])
        prompts = [fmt.prompt(i.lemma, i.seed.statement, i.seed.proof) for i in inputs]
        t0 = time.monotonic()
        outputs = gen.complete(DecodeRequest(prompts, c["samples_per_input"], c["max_tokens"], "sample",
                                             c["temperature"], seed=self.seed + r))
        rows = []
        for idx, (inp, outs) in enumerate(zip(inputs, outputs)):
            for j, out in enumerate(outs):
                rows.append({
                    "name": f"conj_r{r}_{idx}_{j}", "round": r, "body": fmt.parse(out.text), "raw": out.text[:600],
                    "seed": inp.seed.name, "seed_statement": inp.seed.statement, "seed_proof": inp.seed.proof,
                    "seed_key": inp.seed.key, "seed_rate": inp.seed.success_rate, "header": inp.seed.header,
                    "fallback_header": inp.seed.fallback_header,
                    "lemma": inp.lemma.name if inp.lemma else None,
                    "lemma_statement": inp.lemma.statement if inp.lemma else None,
                })
        self._log(f"round {r}: generated {len(rows)} conjectures in {time.monotonic() - t0:.0f} s")
        return rows

    # -------------------------------------------------------------- traces, selection, memory

    def trace_proofs(self, r: int, statements: Sequence[Problem], conjectures: Sequence[dict[str, Any]]) -> None:
        """Trace every verified proof of the round (state before, tactic), for training and the memory."""
        rd = self.round_dir(r)
        problems = {p.name: p for p in statements}
        problems.update({c["name"]: conjecture_problem(c) for c in conjectures})
        out_path = rd / "proofs.jsonl"
        done = {rec["name"] for _, rec in read_jsonl(out_path, missing_ok=True)}
        proved = []
        for file in ("pool.jsonl", "conjecture_results.jsonl"):
            for _, rec in read_jsonl(rd / file, missing_ok=True):
                if rec.get("verdict") == "proved" and rec.get("proof") and rec["name"] not in done:
                    proved.append(rec)
        if proved:
            from proofsmith.checker.registry import open_checker
            from proofsmith.checker.settings import CheckerSettings

            checker = open_checker("coq", CheckerSettings(workers=1))
            try:
                with JsonlAppender(out_path) as log_file:
                    for rec in proved:
                        problem = problems[rec["name"]]
                        try:
                            with checker.session() as session:
                                steps = trace_proof(session, problem.theorem, rec["proof"])
                        except Exception as exc:  # a proof that re-checked but cannot be stepped: kept untraced
                            log.warning("tracing %s: %s", rec["name"], exc)
                            steps = []
                        log_file.append({"name": rec["name"], "pool": problem.split, "proof": rec["proof"],
                                         "steps": [list(s) for s in steps], "pass_rate": pass_rate(rec)})
            finally:
                checker.close()
        n = sum(1 for _ in read_jsonl(out_path, missing_ok=True))
        self.mark(r, "traced", {"proofs": n})

    def select(self, r: int, dataset_statements: int) -> None:
        rd = self.round_dir(r)
        c = self.config["conjecturer"]
        conj = [rec for _, rec in read_jsonl(rd / "conjectures.jsonl", missing_ok=True)]
        results = {rec["name"]: rec for _, rec in read_jsonl(rd / "conjecture_results.jsonl", missing_ok=True)}
        outcomes = []
        for x in conj:
            if x["status"] != "new" or x["name"] not in results:
                continue
            res = results[x["name"]]
            lemma = cj.Lemma(x["lemma"], x["lemma_statement"]) if x.get("lemma") else None
            proofs = [res["proof"]] if res.get("verdict") == "proved" and res.get("proof") else []
            outcomes.append(cj.ConjectureOutcome(x["name"], x["body"], lemma, x["seed"], res.get("attempts") or 0,
                                                 res.get("successes") or 0 if proofs else 0, proofs))
        cap = c["cap"] or dataset_statements
        sel = cj.select_conjectures(outcomes, c["max_pass_rate"], c["elegance_drop"], cap, self.seed + r)
        by_name = {x["name"]: x for x in conj}
        funnel = cj.ConjectureFunnel()
        funnel.counts = {
            "generated": len(conj), "well_formed": sum(x["well_formed"] for x in conj),
            "new": sum(x["status"] == "new" for x in conj), "proved": len(sel.proved),
            "barely_provable": len(sel.barely), "kept": len(sel.kept),
        }
        funnel.ill_formed = dict(Counter(x["reason"] for x in conj if not x["well_formed"]))
        funnel.not_new = dict(Counter(x["status"] for x in conj if x["well_formed"] and x["status"] != "new"))
        funnel.dropped = sel.dropped

        def example(x: dict[str, Any], **more: Any) -> dict[str, Any]:
            return {"name": x["name"], "seed": x["seed"], "lemma": x.get("lemma"), "statement": x["body"],
                    **({"reason": x["reason"], "message": x["message"][:200]} if not x["well_formed"] else {}), **more}

        funnel.examples = {
            "generated": [example(x) for x in conj[:3]],
            "ill_formed": [example(x) for x in conj if not x["well_formed"]][:3],
            "not_new": [example(x, status=x["status"], duplicate_of=x.get("duplicate_of"))
                        for x in conj if x["well_formed"] and x["status"] != "new"][:3],
            "new": [example(x) for x in conj if x["status"] == "new"][:3],
            "proved": [example(by_name[o.name], pass_rate=o.pass_rate, proof=o.shortest_proof()) for o in sel.proved][:3],
            "kept": [example(by_name[o.name], pass_rate=o.pass_rate, proof=o.shortest_proof()) for o in sel.kept][:5],
        }
        kept = []
        for o in sel.kept:
            x = by_name[o.name]
            kept.append({"name": o.name, "statement": x["statement"], "body": x["body"], "header": x["header"],
                         "seed": x["seed"], "seed_statement": x["seed_statement"], "seed_proof": x["seed_proof"],
                         "lemma": x.get("lemma"), "lemma_statement": x.get("lemma_statement"),
                         "proof": o.shortest_proof(), "pass_rate": o.pass_rate})
        write_jsonl(rd / "kept_conjectures.jsonl", kept)
        write_json(rd / "funnel.json", funnel.to_json(), indent=1)
        self.mark(r, "select", dict(funnel.counts))

    def latest_memory(self) -> Path | None:
        for k in range(self.rounds, -1, -1):
            path = self.round_dir(k) / "memory"
            if (path / "DONE").is_file():
                return path
        return None

    def update_memory(self, r: int) -> None:
        """The tactic memory learns every verified proof of the round (when prover.tactic_memory exists)."""
        info: dict[str, Any] = {}
        try:
            from proofsmith.prover.tactic_memory import TacticMemory
        except ImportError:
            self.mark(r, "memory", {"status": "prover.tactic_memory not installed: no memory"})
            return
        if not self.config["memory"]["enabled"]:
            self.mark(r, "memory", {"status": "disabled in the config"})
            return
        previous = self.latest_memory()
        if previous is not None:
            memory = TacticMemory.load(previous)
            info["from"] = str(previous)
        elif self.config["memory"]["from_trace"]:
            memory = TacticMemory.from_trace(self.trace, "random")
            info["from"] = f"{self.trace} random/train"
        else:
            memory = TacticMemory()
            info["from"] = "empty"
        before = len(memory)
        added = 0
        for _, rec in read_jsonl(self.round_dir(r) / "proofs.jsonl", missing_ok=True):
            if rec["steps"]:
                memory.add_proof(rec["name"], [tuple(s) for s in rec["steps"]])
                added += 1
        out = self.round_dir(r) / "memory"
        memory.save(out)
        (out / "DONE").write_text("")
        info.update(status="updated", proofs_added=added, steps_before=before, steps_after=len(memory))
        self.mark(r, "memory", info)

    # -------------------------------------------------------------- training

    def training_rows(self, r: int, tokenizer) -> list[tuple[str, str, str]]:
        from proofsmith.prover.prompt import PromptFormat

        t = self.config["training"]
        fmt = PromptFormat(tokenizer, max_prompt_tokens=t["max_prompt_tokens"])
        cfmt = cj.ConjectureFormat(tokenizer, self.config["conjecturer"]["max_prompt_tokens"])
        rows: list[tuple[str, str, str]] = []
        for k in range(1, r + 1):  # every verified proof so far: expert iteration
            for _, rec in read_jsonl(self.round_dir(k) / "proofs.jsonl", missing_ok=True):
                steps = [s for s in rec["steps"] if len(s[0]) <= t["max_state_chars"]]
                for state, tactic in steps:
                    rows.append(("prover-proof-step", fmt.tactic_prompt(state), tactic))
                if rec["steps"] and len(rec["steps"][0][0]) <= t["max_state_chars"]:
                    rows.append(("prover-whole-proof", fmt.proof_prompt(rec["steps"][0][0]),
                                 "\n".join(tac for _, tac in rec["steps"])))
            for _, x in read_jsonl(self.round_dir(k) / "kept_conjectures.jsonl", missing_ok=True):
                lemma = cj.Lemma(x["lemma"], x["lemma_statement"]) if x.get("lemma") else None
                rows.append(("conjecture-kept", cfmt.prompt(lemma, x["seed_statement"], x["seed_proof"]), x["body"] + "."))
        rows += self.mutation_rows(tokenizer, t["mutation_replay"], seed=self.seed + r)
        rows += self.human_rows(tokenizer, r)
        return rows

    def train(self, r: int) -> None:
        if "train" in self.state(r):
            return
        rd = self.round_dir(r)
        base = self.model_of(r)
        self._log(f"round {r}: training from {base} ({self.config['training']['max_steps']} steps)")
        figures = train_round_model(rd / "train.jsonl", base, rd / "model", self.config["training"], self.seed + r)
        self.mark(r, "train", figures)

    # -------------------------------------------------------------- evaluation

    def heldout_runs(self, final: bool) -> list[tuple[str, str, str, str | None, int]]:
        h = self.config["heldout"]
        if final:
            return [("stdlib-test", "coq-library", "random/test", str(self.trace), h["stdlib_test"]),
                    ("minif2f-test", "minif2f-coq", "test", None, h["minif2f_test"])]
        return [("stdlib-val", "coq-library", "random/val", str(self.trace), h["stdlib_val"]),
                ("minif2f-valid", "minif2f-coq", "valid", None, h["minif2f_valid"])]

    def _eval(self, r: int, where: Path, final: bool) -> dict[str, Any]:
        from proofsmith.eval.runner import RunConfig, run_eval

        p = self.config["prover"]
        model = str(self.round_dir(r) / "model" / "final")
        options = self.prover_options(model)
        results = {}
        for label, bench, split, data, limit in self.heldout_runs(final):
            if not limit:
                continue
            config = RunConfig(benchmark=bench, split=split, data=data, prover=p["name"],
                               prover_options=tuple(sorted(options.items())), budget_s=self.config["heldout"]["budget_s"],
                               attempts=1, tactic_timeout_s=p["tactic_timeout_s"], seed=self.config["heldout"]["seed"],
                               limit=limit, workers=p["workers"], ray=self.ray)
            self._log(f"round {r}: held-out {label} ({limit} problems)")
            outcome = run_eval(config, where / label, progress=self.progress)
            s = outcome.summary
            results[label] = {"proved": s["proved"], "usable": s["usable"], "pass_rate": s["pass_rate"],
                              "selected": s["selected"], "data_sha256": s["data_sha256"]}
        return results

    def evaluate(self, r: int) -> None:
        if "heldout" in self.state(r):
            return
        self.mark(r, "heldout", self._eval(r, self.round_dir(r) / "heldout", final=False))

    def evaluate_final(self, r: int) -> None:
        if "final" in self.state(r):
            return
        self.mark(r, "final", self._eval(r, self.round_dir(r) / "final", final=True))

    # -------------------------------------------------------------- manifest, metrics

    def finish_round(self, r: int, seconds: float) -> None:
        rd = self.round_dir(r)
        state = self.state(r)
        files = {}
        for name in ("pool.jsonl", "conjectures.generated.jsonl", "conjectures.jsonl", "conjecture_results.jsonl",
                     "proofs.jsonl", "kept_conjectures.jsonl", "train.jsonl", "funnel.json"):
            if (rd / name).is_file():
                files[name] = {"sha256": _sha256_file(rd / name), "lines": sum(1 for _ in (rd / name).open("rb"))}
        pools = self.pools()
        inputs = {
            "trace": {"path": str(self.trace), "train_sha256": _sha256_file(self.trace / "random" / "train.json")},
            "mutants": ({"path": str(self.mutants_path), "sha256": _sha256_file(self.mutants_path)}
                        if self.mutants_path.is_file() else None),
            "base_model": self.model_of(r),
            "pool_library": _sha256_text("\n".join(p.name for p in pools.library)),
            "pool_mutants": _sha256_text("\n".join(p.name for p in pools.mutants)),
        }
        model_dir = rd / "model" / "final"
        manifest = {"round": r, "inputs": inputs, "files": files, "config": self.config.data,
                    "model": {"path": str(model_dir), "sha256": _dir_hash(model_dir) if model_dir.is_dir() else None},
                    "stages": state}
        write_json(rd / "manifest.json", manifest, indent=1)

        previous = self.metrics()
        attempted = state.get("prove", {}).get("attempted", 0)
        proved = state.get("prove", {}).get("proved", 0)
        c_att = state.get("prove_conjectures", {}).get("attempted", 0)
        c_proved = state.get("prove_conjectures", {}).get("proved", 0)
        cum_att = sum(m["attempted"] for m in previous) + attempted + c_att
        cum_proved = sum(m["proved"] for m in previous) + proved + c_proved
        funnel = read_json(rd / "funnel.json")["counts"] if (rd / "funnel.json").is_file() else {}
        train = state.get("train", {})
        line = {
            "round": r, "model": str(model_dir), "attempted": attempted + c_att, "proved": proved + c_proved,
            "dataset_attempted": attempted, "dataset_proved": proved, "conjectures_attempted": c_att,
            "conjectures_proved": c_proved, "cumulative_attempted": cum_att, "cumulative_proved": cum_proved,
            "new_proofs": proved + c_proved, "funnel": funnel,
            "heldout": {k: v for k, v in state.get("heldout", {}).items() if k != "finished_at"}, "train_loss": train.get("train_loss"),
            "train_first_loss": train.get("first_loss"), "train_last_loss": train.get("last_loss"),
            "train_examples": train.get("examples"), "train_seconds": train.get("seconds"),
            "memory": {k: v for k, v in state.get("memory", {}).items() if k != "finished_at"},
            "seconds_this_run": round(seconds, 1),
            "stage_finished_at": {k: v.get("finished_at") for k, v in state.items()},
        }
        with JsonlAppender(self.out / METRICS) as f:
            f.append(line)
        self.write_report()

    def write_report(self) -> None:
        from proofsmith.eval.iterate_report import write_iterate_report

        try:
            write_iterate_report(self.out)
        except Exception as exc:  # a report must never stop the run
            log.warning("report: %s", exc)


class StopAfter(Exception):
    """Raised after the stage named in `stop_after` (tests)."""


def run_iteration(config: IterateConfig, out: Path | str, ray: str | None = None, final: bool = False,
                  progress: bool = True) -> list[dict[str, Any]]:
    return IterationRun(config, Path(out), ray=ray, final=final, progress=progress).run()
