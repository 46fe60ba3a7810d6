"""Expert iteration with self-play conjecturing (STP): `proofsmith iterate`.

Round 0 seeds the tactic memory (the trace's random/train proofs), trains the
starting model on the first conjecturer set (the mutation corpus read as
parent + premise -> mutant) and on a sample of traced human proof steps, then
measures the held-out pass rate. Every later round r, with round r-1's model
and memory:

1. prove: a fresh slice of the pool (iterate.pools), `attempts` searches per
   statement (their share of successes is the empirical pass rate), through
   eval.runner.prove_problems;
2. conjecture (iterate.conjecturing) and 3. prove the new conjectures;
4. trace every verified proof (iterate.tracing), select the conjectures that
   train the conjecturer (STP);
5. memory: the tactic memory learns every verified proof of the round (iterate.memory);
6. train: one model for both roles (iterate.training);
7. evaluate on held-out statements with round r's model and memory (iterate.heldout);
8. write the round's data manifest and one metrics line (iterate.metrics).

Resumable: the stage runner (iterate.stages) skips what is marked done and
each stage resumes from its own files; rerunning the same command finishes a
killed run. File names are iterate.layout's.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

from proofsmith.formats.json_files import read_json, write_json
from proofsmith.formats.run_records import RunContext
from proofsmith.iterate import conjecturing, heldout, metrics, training
from proofsmith.iterate.config import IterateConfig, check_inputs
from proofsmith.iterate.layout import RunLayout
from proofsmith.iterate.memory import memory_of, update_memory
from proofsmith.iterate.pools import RunInputs, conjecture_problem
from proofsmith.iterate.records import MetricsLine, write_records
from proofsmith.iterate.stages import StageRunner
from proofsmith.iterate.symbolic import generate_symbolic
from proofsmith.iterate.tracing import trace_round_proofs
from proofsmith.prover.base import Budget


class IterateError(ValueError):
    """A run that cannot go on as asked; the message says why."""


def log_line(text: str) -> None:
    print(f"[iterate {time.strftime('%H:%M:%S')}] {text}", flush=True)


class IterationRun:
    def __init__(self, config: IterateConfig, out: Path, ray: str | None = None, final: bool = False,
                 progress: bool = True, stop_after: str | None = None, where: str = "config"):
        self.config = config
        self.where = where  # the config file, in error messages
        self.layout = RunLayout(Path(out))
        self.ray = ray
        self.final = final
        self.progress = progress
        self.stages = StageRunner(self.layout, stop_after, log_line)
        self.inputs = RunInputs(config)
        self.rounds = config.run.rounds
        self.seed = config.run.seed

    # -------------------------------------------------------------- what each round uses

    def model_of(self, r: int) -> str:
        """The model round r proves with: round r-1's trained model (the starting model before round 0, and
        in every round when training is off)."""
        if r <= 0 or not self.config.training.enabled:
            return self.config.prover.model
        final = self.layout.round(r - 1).model
        if not (final / "config.json").is_file():
            raise IterateError(f"round {r - 1} has no trained model at {final}")
        return str(final)

    def model_after(self, r: int) -> str:
        """The model as it stands after round r: its trained one, or the starting model when training is off."""
        return str(self.layout.round(r).model) if self.config.training.enabled else self.config.prover.model

    def memory_at(self, r: int) -> str | None:
        """The tactic memory as it stands after round r (the latest one saved at or before it)."""
        for k in range(r, -1, -1):
            if (m := memory_of(self.layout, k)) is not None:
                return str(m)
        return self.config.data.trace if self.config.memory.from_trace else None

    def prover_options(self, model: str, memory_round: int, sampled: bool = False) -> dict[str, Any]:
        """The prover's options for round `memory_round`'s memory; `sampled`: the pool and conjecture
        attempts, which search at prover.sample_temperature (held-out evaluation never samples)."""
        from proofsmith.prover.registry import PROVER_OPTIONS

        takes = PROVER_OPTIONS.get(self.config.prover.name, ())
        options = dict(self.config.prover.options)
        if "model" in takes:
            options["model"] = None if model == "default" else model
        if "memory" in takes and self.config.memory.enabled:
            memory = self.memory_at(memory_round)
            if memory is not None:
                options["memory"] = memory
                if memory == self.config.data.trace:
                    options["memory_split"] = self.config.strategy
        if sampled and self.config.prover.sample_temperature > 0:
            options["sample_temperature"] = self.config.prover.sample_temperature
        return options

    def budget(self, attempts: int) -> Budget:
        p = self.config.prover
        return Budget(wall_s=p.budget_s, attempts=attempts, tactic_timeout_s=p.tactic_timeout_s, seed=self.seed)

    # -------------------------------------------------------------- main

    def check_identity(self) -> None:
        self.layout.dir.mkdir(parents=True, exist_ok=True)
        path = self.layout.config
        if not path.is_file():
            write_json(path, self.config.identity(), indent=1)
            return
        differing = self.config.differing(read_json(path))
        if differing:
            raise IterateError(f"{self.layout.dir} was started with another config ({', '.join(differing)} differ); "
                               "rerun with the same config to resume, or use a new --out")

    def run(self) -> list[MetricsLine]:
        check_inputs(self.config, self.where)
        self.check_identity()
        for r in range(self.rounds + 1):
            if any(m.round == r for m in metrics.read_metrics(self.layout)):
                continue
            t0 = time.monotonic()
            if not self.stages.done(r, "started"):
                self.stages.mark(r, "started", {})
            if r == 0:
                self.round_zero()
            else:
                self.round(r)
            self.stages.run(r, "heldout", partial(self.evaluate, r, final=False))
            self.finish_round(r, time.monotonic() - t0)
        if self.final:
            self.stages.run(self.rounds, "final", lambda: self.evaluate(self.rounds, final=True))
        self.write_report()
        return metrics.read_metrics(self.layout)

    # -------------------------------------------------------------- rounds

    def round_zero(self) -> None:
        self.layout.round(0).dir.mkdir(parents=True, exist_ok=True)
        self.stages.run(0, "memory", lambda: update_memory(self.config, self.layout, 0))
        if self.config.training.enabled:
            self.stages.run(0, "examples", lambda: self.write_examples(0, lambda tok: training.round_zero_rows(
                self.config, self.inputs, tok)))
            self.train(0)

    def round(self, r: int) -> None:
        rd = self.layout.round(r)
        rd.dir.mkdir(parents=True, exist_ok=True)
        model = self.model_of(r)
        p = self.config.prover
        pools = self.inputs.pools
        lib_slice, mut_slice, stmt_slice = pools.round_slice(r, self.config.pools.library_per_round,
                                                             self.config.pools.mutants_per_round,
                                                             self.config.pools.statements_per_round)
        statements = lib_slice + mut_slice + stmt_slice
        options = self.prover_options(model, r - 1, sampled=True)
        context: RunContext = {"round": r, "pool": "dataset", "seed": self.seed}

        def prove() -> dict[str, Any]:
            log_line(f"round {r}: proving {len(lib_slice)} library theorems, {len(mut_slice)} mutants and "
                     f"{len(stmt_slice)} statements")
            return self.prove(statements, options, p.attempts, rd.pool_results, context, "prove")

        self.stages.run(r, "prove", prove)
        conjecturers = []
        if "model" in self.config.conjecturer.sources:
            conjecturers.append(lambda chosen: conjecturing.generate_with_model(self.config, model, chosen, r, self.seed))
        if "symbolic" in self.config.conjecturer.sources:
            conjecturers.append(lambda chosen: generate_symbolic(self.config, self.inputs, chosen, r))
        self.stages.run(r, "conjectures", lambda: conjecturing.make_conjectures(
            self.config, self.inputs, self.layout, r, conjecturers, log_line))
        new = conjecturing.new_conjectures(rd)

        def prove_conjectures() -> dict[str, Any]:
            log_line(f"round {r}: proving {len(new)} new conjectures, {p.conjecture_attempts} attempts each")
            return self.prove([conjecture_problem(c) for c in new], options, p.conjecture_attempts,
                              rd.conjecture_results, {**context, "pool": "conjectures"}, "prove conjectures")

        self.stages.run(r, "prove_conjectures", prove_conjectures)
        problems = statements + [conjecture_problem(c) for c in new]
        self.stages.run(r, "traced", lambda: trace_round_proofs(rd, problems, self.inputs.checker_settings))
        self.stages.run(r, "select", lambda: conjecturing.select(self.config, rd, len(statements), self.seed + r))
        self.stages.run(r, "memory", lambda: update_memory(self.config, self.layout, r))
        if self.config.training.enabled:
            self.stages.run(r, "examples", lambda: self.write_examples(r, lambda tok: training.round_rows(
                self.config, self.inputs, self.layout, r, tok)))
            self.train(r)

    def prove(self, problems, options: dict[str, Any], attempts: int, path: Path, context: RunContext,
              label: str) -> dict[str, Any]:
        from proofsmith.eval.evaluator import EvaluatorSpec
        from proofsmith.eval.runner import prove_problems

        spec = EvaluatorSpec("coq", self.config.prover.name, options, self.budget(attempts), context,
                             self.inputs.library.load_path)
        records = prove_problems(problems, spec, path, self.config.prover.workers, self.ray,
                                 label if self.progress else None).by_problem(problems)
        return {"attempted": len(records), "proved": sum(x["verdict"] == "proved" for x in records)}

    def write_examples(self, r: int, rows_of) -> dict[str, Any]:
        rd = self.layout.round(r)
        rows = rows_of(training.tokenizer_of(self.model_of(r)))
        write_records(rd.examples, rows)
        return {"examples": len(rows), "sha256": metrics.sha256_file(rd.examples), "kinds": training.kinds(rows)}

    def train(self, r: int) -> None:
        rd = self.layout.round(r)
        base = self.model_of(r)

        def work() -> dict[str, Any]:
            log_line(f"round {r}: training from {base} ({self.config.training.max_steps} steps)")
            return training.train_round_model(rd.examples, base, rd.model_dir, self.config.training, self.seed + r)

        self.stages.run(r, "train", work)

    def evaluate(self, r: int, final: bool) -> dict[str, Any]:
        options = self.prover_options(self.model_after(r), r)
        return heldout.evaluate(self.config, self.layout, r, options, final, self.ray, self.progress, log_line)

    # -------------------------------------------------------------- end of a round

    def finish_round(self, r: int, seconds: float) -> None:
        state = self.stages.state(r)
        metrics.write_manifest(self.config, self.layout, r, state, self.inputs.pools, self.model_of(r))
        metrics.append_metrics(self.layout, metrics.metrics_line(self.layout, r, state, seconds))
        self.write_report()

    def write_report(self) -> None:
        from proofsmith.iterate.report import write_iterate_report

        try:
            write_iterate_report(self.layout.dir)
        except Exception as exc:  # a report must never stop the run
            log_line(f"report: {exc}")


def run_iteration(config: IterateConfig, out: Path | str, ray: str | None = None, final: bool = False,
                  progress: bool = True, where: str = "config") -> list[MetricsLine]:
    return IterationRun(config, Path(out), ray=ray, final=final, progress=progress, where=where).run()
