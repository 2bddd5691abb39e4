"""Within-group tournaments: which pairs to judge, and scores from soft pairwise outcomes.

An outcome is ``(i, j, p)``: one judged game of item ``i`` against item ``j`` in which ``i``
won with probability ``p`` (a soft result; 1.0 and 0.0 are plain wins and losses).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

Outcome = tuple[int, int, float]


def round_robin_pairs(n: int) -> list[tuple[int, int]]:
    """Every unordered pair of ``range(n)`` once, as ``(i, j)`` with ``i < j``."""
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def sampled_pairs(n: int, per_item: int, rng: random.Random) -> list[tuple[int, int]]:
    """Distinct unordered pairs in which every item plays at least ``per_item`` others.

    The items are put on a cycle in an order shuffled by ``rng`` and each is paired with its
    neighbours at distances ``1 .. ceil(per_item / 2)``: every item gets exactly
    ``2 * ceil(per_item / 2)`` opponents, and the distance-1 cycle keeps the comparison graph
    connected (so a Bradley-Terry fit ranks every item against every other). ``per_item >= n - 1``
    gives the round robin.
    """
    if per_item < 1:
        raise ValueError(f"per_item must be >= 1, got {per_item}")
    if per_item >= n - 1:
        return round_robin_pairs(n)
    order = list(range(n))
    rng.shuffle(order)
    pairs = []
    for distance in range(1, math.ceil(per_item / 2) + 1):  # distance < n / 2, so no pair repeats
        for t in range(n):
            i, j = order[t], order[(t + distance) % n]
            pairs.append((min(i, j), max(i, j)))
    return pairs


def win_rates(n: int, outcomes: Sequence[Outcome]) -> list[float]:
    """Each item's mean probability of winning its games; 0.5 for an item without games."""
    won = [0.0] * n
    played = [0] * n
    for i, j, p in outcomes:
        won[i] += p
        won[j] += 1.0 - p
        played[i] += 1
        played[j] += 1
    return [w / g if g else 0.5 for w, g in zip(won, played)]


def bradley_terry(
    n: int, outcomes: Sequence[Outcome], l2: float = 0.01, tolerance: float = 1e-10, max_iterations: int = 100
) -> list[float]:
    """Bradley-Terry log-strengths of ``range(n)`` from soft outcomes; they sum to 0.

    Maximises ``sum_games [p log sigmoid(s_i - s_j) + (1 - p) log sigmoid(s_j - s_i)] - l2/2 sum_i s_i^2``:
    P(i beats j) = sigmoid(s_i - s_j), and the Gaussian prior keeps the fit finite when an item
    won or lost every game (an item without games gets 0). The objective is strictly concave;
    Newton steps, halved until the objective does not fall, run until no strength moves by
    more than ``tolerance``.
    """
    if l2 <= 0:
        raise ValueError(f"l2 must be > 0, got {l2}")

    def objective(s: list[float]) -> float:
        fit = sum(p * _log_sigmoid(s[i] - s[j]) + (1 - p) * _log_sigmoid(s[j] - s[i]) for i, j, p in outcomes)
        return fit - l2 / 2 * sum(x * x for x in s)

    strengths = [0.0] * n
    for _ in range(max_iterations):
        gradient = [-l2 * x for x in strengths]
        curvature = [[l2 if a == b else 0.0 for b in range(n)] for a in range(n)]  # minus the Hessian
        for i, j, p in outcomes:
            q = sigmoid(strengths[i] - strengths[j])
            gradient[i] += p - q
            gradient[j] -= p - q
            w = q * (1 - q)
            curvature[i][i] += w
            curvature[j][j] += w
            curvature[i][j] -= w
            curvature[j][i] -= w
        step = _solve_positive_definite(curvature, gradient)
        current, scale = objective(strengths), 1.0
        while scale > 1e-12:
            trial = [x + scale * d for x, d in zip(strengths, step)]
            if objective(trial) >= current:
                break
            scale /= 2
        else:
            return strengths  # no ascent left at float precision
        strengths = trial
        if max((abs(scale * d) for d in step), default=0.0) < tolerance:
            return strengths
    raise RuntimeError(f"Bradley-Terry fit did not converge in {max_iterations} Newton steps")


def _log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def _solve_positive_definite(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """``x`` with ``matrix @ x = vector`` for a symmetric positive definite ``matrix`` (Cholesky)."""
    n = len(vector)
    lower = [[0.0] * n for _ in range(n)]
    for a in range(n):
        for b in range(a + 1):
            total = matrix[a][b] - sum(lower[a][c] * lower[b][c] for c in range(b))
            lower[a][b] = math.sqrt(total) if a == b else total / lower[b][b]
    y = [0.0] * n
    for a in range(n):
        y[a] = (vector[a] - sum(lower[a][c] * y[c] for c in range(a))) / lower[a][a]
    x = [0.0] * n
    for a in reversed(range(n)):
        x[a] = (y[a] - sum(lower[c][a] * x[c] for c in range(a + 1, n))) / lower[a][a]
    return x


def sigmoid(x: float) -> float:
    """1 / (1 + exp(-x)), without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    return math.exp(x) / (1.0 + math.exp(x))
