"""Batched comparator algorithms: a lock-step merge sort and a knockout tournament.

The algorithms are generators that *yield* a list of comparisons ``(i, j)`` and receive
one outcome per comparison: ``"A"`` (``i`` is better) or ``"B"`` (``j`` is better); the
comparator may also answer ``None`` (no verdict). :func:`run_lockstep` drives many of
them at once, so every step of every problem goes to the comparator as ONE batch,
and answers repeated pairs from a cache: ``(i, j)`` is never judged twice, and a judged
``(i, j)`` also answers ``(j, i)``.

No candidate's index decides anything. Each problem has its own seeded ``random.Random``:
its algorithm starts from an order shuffled by it (so no index always gets the knockout's
bye or the merge sort's carried run), and a ``None`` outcome is decided by a coin from it
when it arrives and cached like a verdict, so ``(i, j)`` and ``(j, i)`` agree. Results are
reproducible from the seed for any comparator, consistent or not, and the merge sort always
returns a permutation. Which candidate the judge is *shown* first is the comparator's
choice (see :func:`gram_rr.selection.select_many`, the one user of these algorithms).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Sequence
from typing import Optional

from gram_rr.verdict import FLIP

Outcome = Optional[str]  # "A", "B" or None
Decided = str  # "A" or "B": what an algorithm receives
Pair = tuple[int, int]
Algorithm = Generator[list[Pair], list[Decided], list[int]]
CompareBatch = Callable[[list[tuple[int, int, int]]], list[Outcome]]  # (problem, i, j) triples


def _shuffled(n: int, rng: random.Random) -> list[int]:
    order = list(range(n))
    rng.shuffle(order)
    return order


def merge_sort(n: int, rng: random.Random) -> Algorithm:
    """Bottom-up merge sort of ``range(n)``, best first; returns the order.

    The one-candidate runs start in an order shuffled by ``rng``. Runs of one level are
    merged in lock-step: each yield holds the next head-to-head comparison of every
    unfinished merge of the level.
    """
    runs: list[list[int]] = [[i] for i in _shuffled(n, rng)]
    while len(runs) > 1:
        merges = [(runs[k], runs[k + 1]) for k in range(0, len(runs) - 1, 2)]
        carry = [runs[-1]] if len(runs) % 2 else []
        heads = [[0, 0] for _ in merges]
        merged: list[list[int]] = [[] for _ in merges]
        while True:
            active = [m for m, (left, right) in enumerate(merges) if heads[m][0] < len(left) and heads[m][1] < len(right)]
            if not active:
                break
            requests = [(merges[m][0][heads[m][0]], merges[m][1][heads[m][1]]) for m in active]
            outcomes = yield requests
            for m, (i, j), outcome in zip(active, requests, outcomes):
                if outcome == "A":
                    merged[m].append(i)
                    heads[m][0] += 1
                else:
                    merged[m].append(j)
                    heads[m][1] += 1
        for m, (left, right) in enumerate(merges):
            merged[m].extend(left[heads[m][0] :])
            merged[m].extend(right[heads[m][1] :])
        runs = merged + carry
    return runs[0] if runs else []


def knockout(n: int, rng: random.Random) -> Algorithm:
    """Single-elimination tournament over ``range(n)``; returns ``[winner]`` (``[]`` if n == 0).

    The bracket is ``range(n)`` shuffled by ``rng``; each round pairs its neighbours
    (1st v 2nd, 3rd v 4th, ...) in one yield, and an odd one out gets a bye. That is
    n - 1 comparisons in ceil(log2 n) rounds.
    """
    alive = _shuffled(n, rng)
    while len(alive) > 1:
        requests = [(alive[k], alive[k + 1]) for k in range(0, len(alive) - 1, 2)]
        outcomes = yield requests
        winners = [i if o == "A" else j for (i, j), o in zip(requests, outcomes)]
        alive = winners + ([alive[-1]] if len(alive) % 2 else [])
    return alive


class _Cache:
    """Decided outcomes so far for one problem; ``(i, j)`` answers ``(j, i)`` flipped."""

    def __init__(self) -> None:
        self.known: dict[Pair, Decided] = {}

    def get(self, pair: Pair) -> tuple[bool, Decided | None]:
        i, j = pair
        if (i, j) in self.known:
            return True, self.known[(i, j)]
        if (j, i) in self.known:
            return True, FLIP[self.known[(j, i)]]
        return False, None


def run_lockstep(
    algorithms: Sequence[Algorithm], compare: CompareBatch, rngs: Sequence[random.Random]
) -> list[list[int]]:
    """Drive ``algorithms`` together; ``compare`` gets ``(problem, i, j)`` triples, one batch per step.

    A step's batch holds every new comparison every unfinished algorithm asks for;
    cached pairs are answered without calling ``compare``, and a pair asked twice in one
    step is judged once. A ``None`` outcome for problem ``k`` is decided by a coin from
    ``rngs[k]`` before it is cached.
    """
    if len(rngs) != len(algorithms):
        raise ValueError(f"{len(rngs)} random generators for {len(algorithms)} algorithms")
    results: list[list[int]] = [[] for _ in algorithms]
    caches = [_Cache() for _ in algorithms]
    waiting: dict[int, list[Pair]] = {}

    def advance(k: int, outcomes: list[Decided] | None) -> None:
        """Feed ``outcomes`` to algorithm ``k`` until it asks for something not cached."""
        try:
            requests = next(algorithms[k]) if outcomes is None else algorithms[k].send(outcomes)
            while True:
                answers = [caches[k].get(pair) for pair in requests]
                if not all(hit for hit, _ in answers):
                    waiting[k] = requests
                    return
                requests = algorithms[k].send([outcome for _, outcome in answers])
        except StopIteration as stop:
            results[k] = stop.value
            waiting.pop(k, None)

    for k in range(len(algorithms)):
        advance(k, None)
    while waiting:
        batch: list[tuple[int, int, int]] = []
        for k, requests in waiting.items():
            asked: set[Pair] = set()
            for i, j in requests:
                if caches[k].get((i, j))[0] or (i, j) in asked or (j, i) in asked:
                    continue
                asked.add((i, j))
                batch.append((k, i, j))
        outcomes = compare(batch)
        if len(outcomes) != len(batch):
            raise ValueError(f"comparator returned {len(outcomes)} outcomes for {len(batch)} comparisons")
        for (k, i, j), outcome in zip(batch, outcomes):
            caches[k].known[(i, j)] = outcome if outcome in ("A", "B") else rngs[k].choice("AB")
        for k, requests in list(waiting.items()):
            advance(k, [caches[k].get(pair)[1] for pair in requests])
    return results
