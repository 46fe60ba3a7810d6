"""Statistics of pass rates: the Wilson score interval of a proportion, and the exact McNemar test
of two provers on the same problems.

A pass rate of 1/1 is not 100% in any useful sense: its 95% Wilson interval
is [20.7%, 100%]. Reports print every rate with its interval; two runs on
the same sample are compared by their discordant problems (proved by one
only), which is what the exact McNemar test reads: under "no difference"
each discordant problem is a fair coin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054  # the two-sided 95% normal quantile


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def percent(self) -> str:
        return f"[{100 * self.low:.1f}%, {100 * self.high:.1f}%]"


def wilson(successes: int, n: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of successes/n (None when n is 0)."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # at the ends the closed form is exact; rounding must not move it inside
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low, high)


def error_bars(counts: Sequence[tuple[int, int]]) -> list[list[float]]:
    """Matplotlib `yerr` for bars at 100 * successes / n: how far each 95% Wilson interval reaches
    below and above, in percent points; each (successes, n) must have n > 0."""
    below, above = [], []
    for successes, n in counts:
        interval = wilson(successes, n)
        if interval is None:
            raise ValueError("a bar needs a denominator above 0")
        rate = 100 * successes / n
        below.append(rate - 100 * interval.low)
        above.append(100 * interval.high - rate)
    return [below, above]


def rate_text(successes: int, n: int) -> str:
    """"7/20 = 35.0% [18.1%, 56.7%]" (95% Wilson), or "0/0 = n/a"."""
    interval = wilson(successes, n)
    if interval is None:
        return f"{successes}/{n} = n/a"
    return f"{successes}/{n} = {100 * successes / n:.1f}% {interval.percent()}"


@dataclass(frozen=True)
class McNemar:
    """Exact (binomial) McNemar test of A against B on paired outcomes."""

    only_a: int  # proved by A, not by B
    only_b: int
    p_value: float  # two-sided

    def describe(self, a: str = "A", b: str = "B") -> str:
        discordant = self.only_a + self.only_b
        if not discordant:
            return "no problem is proved by one run only: nothing to tell them apart (p = 1)"
        return (f"{self.only_a} proved by {a} only, {self.only_b} by {b} only: exact McNemar two-sided "
                f"p = {self.p_value:.3g}" + (" (a difference at the 5% level)" if self.p_value < 0.05 else
                                             " (no difference at the 5% level)"))


def mcnemar_exact(only_a: int, only_b: int) -> McNemar:
    """Two-sided exact McNemar p-value: twice the binomial(n, 1/2) tail of the smaller count, at most 1."""
    if only_a < 0 or only_b < 0:
        raise ValueError("counts must be non-negative")
    n = only_a + only_b
    if n == 0:
        return McNemar(only_a, only_b, 1.0)
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return McNemar(only_a, only_b, min(1.0, 2 * tail))
