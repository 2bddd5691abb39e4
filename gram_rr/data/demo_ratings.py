"""Synthetic HelpSteer2-style ratings for the demo pairs, derived from their known truth.

The demo pairs (``gram_rr.data.demo``) have one correct response and one subtly wrong one, and
the label says which. Nobody rated them; this module *derives* ratings from that label, so LDL
(:mod:`gram_rr.ldl`) has rated data to learn from on the demo task:

- ``correctness``: 4.0 for the correct response, 0.5 for the wrong one;
- ``helpfulness``: 3.5 for the correct response, 1.0 for the wrong one;
- ``coherence``: 3.5 for both (every demo response is a fluent sentence);
- ``complexity``: 1.0 for both (the demo tasks are simple);
- ``verbosity``: the response's word count / 10, rounded to 0.5, at most 4.0;

then ``correctness`` and ``helpfulness`` move by a seeded uniform jitter in
[-``jitter``, +``jitter``] (kept on the scale), so ratings are real-valued as HelpSteer2's averaged
ones are. Only the label and the text are used; derive them from the pairs a model may train on
(the seed and labeled splits), never from the held-out test split.

    python -m gram_rr.data.demo_ratings --pairs data/demo/seed.jsonl data/demo/labeled.jsonl \\
        --out data/demo/ratings.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections.abc import Iterable, Sequence

from gram_rr.data.ratings import RATING_SCALE, RatedResponse, write_ratings
from gram_rr.data.records import PreferencePair

CORRECT = {"helpfulness": 3.5, "correctness": 4.0, "coherence": 3.5, "complexity": 1.0}
WRONG = {"helpfulness": 1.0, "correctness": 0.5, "coherence": 3.5, "complexity": 1.0}
JITTERED = ("helpfulness", "correctness")


def verbosity(response: str) -> float:
    """Word count / 10, rounded to the nearest 0.5, at most the top of the scale."""
    return min(RATING_SCALE[1], round(len(response.split()) / 5) / 2)


def _jitter(seed: int, key: str, width: float) -> float:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return random.Random(digest).uniform(-width, width)


def derived_ratings(pair: PreferencePair, jitter: float = 0.25, seed: int = 0) -> list[RatedResponse]:
    """Two rated responses (A, then B) of a labeled demo pair, rated by the rules in the module doc."""
    if pair.label is None:
        raise ValueError(f"pair {pair.id!r} has no label; demo ratings are derived from the label")
    low, high = RATING_SCALE
    rated = []
    for side, response in (("A", pair.response_a), ("B", pair.response_b)):
        correct = side == pair.label
        ratings = dict(CORRECT if correct else WRONG)
        key = f"{pair.id}-{side.lower()}"
        for name in JITTERED:
            ratings[name] = round(min(high, max(low, ratings[name] + _jitter(seed, f"{key}:{name}", jitter))), 3)
        ratings["verbosity"] = verbosity(response)
        metadata = {"pair": pair.id, "side": side, "correct": correct, "synthetic": True}
        rated.append(RatedResponse(prompt=pair.conversation or pair.question, response=response, ratings=ratings,
                                   id=key, metadata=metadata))
    return rated


def demo_ratings(pairs: Iterable[PreferencePair], jitter: float = 0.25, seed: int = 0) -> list[RatedResponse]:
    """Derived ratings of every pair's two responses, in pair order."""
    return [item for pair in pairs for item in derived_ratings(pair, jitter, seed)]


def main(argv: Sequence[str] | None = None) -> int:
    from gram_rr.data import load_pairs

    parser = argparse.ArgumentParser(prog="python -m gram_rr.data.demo_ratings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", nargs="+", required=True, help="labeled demo pair files (seed, labeled splits)")
    parser.add_argument("--limit", type=int, help="only the first N pairs of each file")
    parser.add_argument("--out", required=True, help="JSONL of rated responses to write")
    parser.add_argument("--jitter", type=float, default=0.25, help="half-width of the seeded rating jitter")
    parser.add_argument("--seed", type=int, default=0, help="seed of the jitter")
    args = parser.parse_args(argv)
    pairs = [pair for path in args.pairs for pair in list(load_pairs(path))[: args.limit]]
    rated = demo_ratings(pairs, args.jitter, args.seed)
    write_ratings(args.out, rated)
    print(f"{args.out}: {len(rated)} rated responses from {len(pairs)} pairs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from gram_rr.cli_errors import run_cli

    sys.exit(run_cli(main))
