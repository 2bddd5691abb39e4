"""The demo task sets: which problem families (and mistakes) each demo split draws from."""

from __future__ import annotations

import random
from collections.abc import Callable

from gram_rr.data import demo_instructions as instructions
from gram_rr.data.demo_tasks import (
    FAMILIES, Problem, clock, decimal_comparison, percent, rectangle, sharing, shopping, two_step, unit_conversion,
)

# Task sets: which (family, error index) combinations a split draws from, cycling in this order.
# "instructions": the response that breaks a rule of the question (a missing word, another country,
# no translation, too long, wrong case, a needless refusal): checks a 135M judge learns on a CPU; the default.
# "basic": mistakes a reader can spot without redoing arithmetic (a wrong operation or formula,
# a skipped step, a wrong unit factor, a dropped hour, dividing by the wrong head count, the
# "more digits is larger" fallacy, dividing by 10 for a percent): the easier set for a small
# judge. "arithmetic": every family and mistake, including
# one-digit arithmetic slips and counting errors, which need the judge to redo the arithmetic.
TASK_SETS: dict[str, tuple[tuple[Callable[[random.Random, int], Problem], int], ...]] = {
    "instructions": tuple((family, 0) for family in instructions.FAMILIES),
    "basic": (
        (two_step, 0), (sharing, 0), (unit_conversion, 0), (decimal_comparison, 0), (shopping, 1), (clock, 0),
        (rectangle, 0), (percent, 0), (two_step, 2), (rectangle, 1),
    ),
    "arithmetic": tuple((family, error) for error in range(6) for family in FAMILIES),
}
