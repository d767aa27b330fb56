"""The exam's numbers: domain weights, length, pass mark, and the scaled-score estimate.

Kept below ``exam`` (which runs a practice exam) and ``plots`` (which draws its result), so the two do not import
each other.

Scaled score (an ESTIMATE): AWS reports DVA-C02 results on a 100-1,000 scale with 720 to pass, but does not publish
how raw answers map to it (the exam also holds 15 unscored questions and equates forms of different difficulty).
This course assumes about 72% correct is a pass and maps linearly on each side of that point:
0% -> 100, 72% -> 720, 100% -> 1,000. It is monotonic and clamped to 100-1,000; treat it as a rough guide only.
"""
from __future__ import annotations

import math

DOMAIN_WEIGHTS = {1: 32, 2: 26, 3: 24, 4: 18}  # percent of the scored content, from the exam guide
EXAM_QUESTIONS, EXAM_MINUTES = 65, 130
PASS_SCALED, PASS_FRACTION = 720, 0.72
MIN_SCALED, MAX_SCALED = 100, 1000


def scaled_score(fraction: float) -> int:
    """Estimated scaled score for a fraction correct (0-1): piecewise linear through (0.72, 720); see module doc."""
    f = min(max(float(fraction), 0.0), 1.0)
    if f <= PASS_FRACTION:
        score = MIN_SCALED + f / PASS_FRACTION * (PASS_SCALED - MIN_SCALED)
    else:
        score = PASS_SCALED + (f - PASS_FRACTION) / (1 - PASS_FRACTION) * (MAX_SCALED - PASS_SCALED)
    score = round(score)
    if f < PASS_FRACTION:  # 59/82 = 71.95% would round up to 720: below the pass fraction is below the pass mark
        score = min(score, PASS_SCALED - 1)
    return int(min(max(score, MIN_SCALED), MAX_SCALED))


def domain_quota(n: int, weights: dict = DOMAIN_WEIGHTS) -> dict[int, int]:
    """How many of ``n`` questions each domain gets: proportional to the weights, largest remainders rounded up."""
    if n < 1:
        raise ValueError("An exam needs at least one question.")
    total = sum(weights.values())
    exact = {d: n * w / total for d, w in weights.items()}
    quota = {d: math.floor(x) for d, x in exact.items()}
    for d in sorted(exact, key=lambda d: (exact[d] - quota[d], weights[d]), reverse=True)[: n - sum(quota.values())]:
        quota[d] += 1
    return quota
