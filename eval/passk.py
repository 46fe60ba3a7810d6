"""pass@k with the unbiased estimator of Chen et al. (2021).

With n attempts on a problem of which c succeeded, the probability that at
least one of k attempts drawn without replacement succeeds is
1 - C(n-c, k) / C(n, k); averaging it over problems estimates pass@k with
less variance than running exactly k attempts.
"""

from __future__ import annotations

from collections.abc import Iterable


def pass_at_k(n: int, c: int, k: int) -> float:
    if not 0 <= c <= n:
        raise ValueError(f"successes must be between 0 and the attempts: c={c}, n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the attempts: k={k}, n={n}")
    if n - c < k:
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i), a product of numbers in (0, 1]
    # that never forms the huge binomials.
    failure = 1.0
    for i in range(n - c + 1, n + 1):
        failure *= 1.0 - k / i
    return 1.0 - failure


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """Mean of pass_at_k over problems given as (attempts, successes)."""
    values = [pass_at_k(n, c, k) for n, c in counts]
    if not values:
        raise ValueError("no problems to average over")
    return sum(values) / len(values)


def reported_ks(n: int) -> list[int]:
    """The k worth reporting for n attempts: 1, 2, 4, ... up to n, and n itself."""
    ks = []
    k = 1
    while k < n:
        ks.append(k)
        k *= 2
    ks.append(n)
    return ks
