from pathlib import Path

import numpy as np
import pytest

from proofsmith.retrieval.corpus import Corpus
from proofsmith.retrieval.embedding_cache import cache_key, corpus_embeddings
from proofsmith.retrieval.encoder import EncoderError, TextEncoder, default_encoder_path

FIXTURE = Path(__file__).parent / "fixtures" / "retrieval"
TEXTS = ["forall n : nat, n + 0 = n", "n + 0 = n for every natural number n", "rev (rev l) = l"]


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder()


def test_default_encoder_is_the_packaged_minilm(encoder):
    assert encoder.name == "all-MiniLM-L6-v2"
    assert (default_encoder_path() / "model.safetensors").is_file()
    vectors = encoder.encode(TEXTS, batch_size=2)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2  # the paraphrase is nearer than the list lemma


def test_embeddings_equal_sentence_transformers(encoder):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(default_encoder_path()), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(encoder.encode(TEXTS), expected, atol=1e-5)


def test_batching_and_order_do_not_change_vectors(encoder):
    one = encoder.encode(TEXTS, batch_size=1)
    all_at_once = encoder.encode(TEXTS, batch_size=64)
    np.testing.assert_allclose(one, all_at_once, atol=1e-5)


def test_cache_is_keyed_by_corpus_and_weights(encoder, tmp_path, monkeypatch):
    corpus = Corpus.load(FIXTURE)
    first = corpus_embeddings(corpus, encoder, tmp_path, progress=False)
    assert (tmp_path / f"{cache_key(corpus, encoder)}.npy").is_file()

    def no_encoding(*args, **kwargs):
        raise AssertionError("the cache should have answered")

    with monkeypatch.context() as m:
        m.setattr(encoder, "encode", no_encoding)
        np.testing.assert_array_equal(corpus_embeddings(corpus, encoder, tmp_path), first)

    smaller = Corpus([{"path": "A.v", "imports": [], "premises": [
        {"full_name": "a", "code": "Lemma a : True.", "start": [1, 1], "end": [1, 9]}]}])
    assert cache_key(smaller, encoder) != cache_key(corpus, encoder)

    other = TextEncoder()
    with __import__("torch").no_grad():
        next(other.model.parameters()).add_(0.01)
    other.forget_fingerprint()
    assert cache_key(corpus, other) != cache_key(corpus, encoder)


def test_bad_encoder_path_is_named(tmp_path):
    with pytest.raises(EncoderError, match="not a transformers model folder"):
        TextEncoder(tmp_path)
