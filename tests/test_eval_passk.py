from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proofsmith.eval.passk import mean_pass_at_k, pass_at_k, reported_ks


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_equals_the_exact_combinatorial_formula(nck):
    n, c, k = nck
    exact = 1 - comb(n - c, k) / comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_pass_at_k_known_values():
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    # 2 successes of 4: a pair drawn misses both with probability C(2,2)/C(4,2) = 1/6
    assert pass_at_k(4, 2, 2) == pytest.approx(5 / 6)
    assert pass_at_k(5, 1, 5) == 1.0


def test_pass_at_k_is_stable_for_large_n():
    # the binomials here have hundreds of digits; the product form stays exact enough
    assert pass_at_k(3200, 1, 1) == pytest.approx(1 / 3200)
    assert pass_at_k(3200, 1, 3200) == 1.0
    assert 0.0 < pass_at_k(3200, 2, 100) < 1.0


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError, match="successes"):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError, match="k must be"):
        pass_at_k(3, 1, 4)
    with pytest.raises(ValueError, match="no problems"):
        mean_pass_at_k([], 1)


def test_mean_pass_at_k_and_reported_ks():
    assert mean_pass_at_k([(4, 0), (4, 4), (4, 1)], 1) == pytest.approx((0 + 1 + 0.25) / 3)
    assert reported_ks(1) == [1]
    assert reported_ks(8) == [1, 2, 4, 8]
    assert reported_ks(10) == [1, 2, 4, 8, 10]
