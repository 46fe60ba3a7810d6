import json
from pathlib import Path

import numpy as np
import pytest

import proofsmith.retrieval.training as training
from proofsmith.retrieval.benchmark import Benchmark
from proofsmith.retrieval.encoder import TextEncoder
from proofsmith.retrieval.training import (
    NegativeSampler,
    TrainConfig,
    TrainingError,
    contrastive_loss,
    train_retriever,
    training_examples,
)

FIXTURE = Path(__file__).parent / "fixtures" / "retrieval"
CONFIG = TrainConfig(batch_size=4, num_negatives=3, num_in_file_negatives=1, lr=1e-4,
                     warmup_steps=1, max_steps=6, max_length=64, checkpoint_every=2)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # Tiny batches gain little from a second thread and lose a lot when the
    # machine is shared (oversubscribed OpenMP threads spin).
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def bench():
    return Benchmark(FIXTURE)


def test_negatives_are_accessible_hard_ones_from_the_positive_file(bench):
    corpus = bench.corpus
    examples = training_examples(bench.queries("random", "train"))
    sampler = NegativeSampler(corpus)
    rng = np.random.default_rng(0)
    for ex in examples:
        mask = corpus.accessible_mask(ex.file_path, ex.pos)
        negs = sampler.sample(ex, 3, 1, rng)
        assert len(negs) == len(set(negs)) <= 3
        assert all(mask[i] for i in negs)
        assert not set(negs) & ex.all_positives
        in_file = [i for i in negs if corpus.premises[i].path == corpus.premises[ex.positive].path]
        others_exist = any(
            mask[p.id] and p.id not in ex.all_positives and p.path == corpus.premises[ex.positive].path
            for p in corpus.premises
        )
        assert len(in_file) >= (1 if others_exist else 0)


def fixed_batch(bench):
    examples = training_examples(bench.queries("random", "train"))
    batch = examples[:6]
    sampler = NegativeSampler(bench.corpus)
    rng = np.random.default_rng(1)
    return batch, [sampler.sample(ex, 3, 1, rng) for ex in batch]


def loss_on(model_dir, bench, batch, negatives):
    import torch

    encoder = TextEncoder(model_dir, max_length=64)
    with torch.no_grad():
        return float(contrastive_loss(encoder, bench.corpus, batch, negatives, 0.05))


def test_a_tiny_run_lowers_the_loss_and_resumes_after_a_kill(bench, tmp_path, monkeypatch):
    batch, negatives = fixed_batch(bench)
    before = loss_on(None, bench, batch, negatives)
    queries = bench.queries("random", "train")

    real_loss = training.contrastive_loss
    calls = {"n": 0}

    def killed_at_step_4(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_loss(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(training, "contrastive_loss", killed_at_step_4)
        with pytest.raises(KeyboardInterrupt):
            train_retriever(bench.corpus, queries, tmp_path, config=CONFIG, progress=False)
    assert (tmp_path / "checkpoint" / "state.pt").is_file()
    logged = [json.loads(line)["step"] for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert logged == [1, 2, 3]

    result = train_retriever(bench.corpus, queries, tmp_path, config=CONFIG, progress=False)
    assert result.resumed_from == 2 and result.steps == 6 and len(result.losses) == 6
    logged = [json.loads(line)["step"] for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert logged == list(range(1, 7))
    assert not (tmp_path / "checkpoint").exists()

    after = loss_on(result.model_dir, bench, batch, negatives)
    assert after < before - 0.1, (before, after)

    # a finished run is not redone; other settings in the same folder are refused
    again = train_retriever(bench.corpus, queries, tmp_path, config=CONFIG, progress=False)
    assert again.steps == 6 and again.model_dir == result.model_dir
    with pytest.raises(TrainingError, match="other settings"):
        train_retriever(bench.corpus, queries, tmp_path, config=TrainConfig(max_steps=2), progress=False)


def test_bad_settings_are_refused(bench, tmp_path):
    with pytest.raises(TrainingError, match="in-file negatives"):
        train_retriever(bench.corpus, bench.queries("random", "train"), tmp_path,
                        config=TrainConfig(num_negatives=1, num_in_file_negatives=2), progress=False)
