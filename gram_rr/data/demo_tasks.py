"""Verifiable demo problems: each with a correct response, a subtly wrong one, and why.

Every family draws its numbers from a ``random.Random`` and returns a ``Problem``; the
``error`` argument picks which mistake the wrong response makes. Responses end with an
``Answer: X`` line so answers can be checked by machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One question, its correct and wrong responses, and the facts a proof needs."""

    family: str
    question: str
    answer: str  # the correct answer; for instruction problems, the rule the correct response keeps
    correct: str
    wrong: str
    wrong_answer: str  # the wrong response's answer; "" when its mistake is not a wrong value
    error: str
    why_right: str
    why_wrong: str


NAMES = ("Jane", "Omar", "Lena", "Ravi", "Maya", "Tom", "Aiko", "Sam", "Nina", "Leo", "Ines", "Kofi", "Zoe", "Ben")
ITEMS = ("apples", "marbles", "stickers", "pencils", "cookies", "stamps", "shells", "cards", "coins", "beads")
GOODS = (("notebook", "notebooks"), ("pen", "pens"), ("ticket", "tickets"), ("mug", "mugs"), ("plant", "plants"),
         ("book", "books"), ("cap", "caps"), ("lamp", "lamps"), ("ball", "balls"), ("towel", "towels"))
VEHICLES = ("bus", "train", "ferry", "tram", "coach")
# (from unit, singular, to unit, true factor, the factor a careless response uses)
UNITS = (
    ("meters", "meter", "centimeters", 100, 10),
    ("kilometers", "kilometer", "meters", 1000, 100),
    ("hours", "hour", "minutes", 60, 100),
    ("minutes", "minute", "seconds", 60, 100),
    ("kilograms", "kilogram", "grams", 1000, 100),
    ("days", "day", "hours", 24, 12),
    ("feet", "foot", "inches", 12, 10),
    ("liters", "liter", "milliliters", 1000, 100),
    ("weeks", "week", "days", 7, 5),
    ("yards", "yard", "feet", 3, 12),
)


def num(value: float) -> str:
    """A number as a person writes it: no trailing ``.0``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _answer(steps: str, answer: str) -> str:
    return f"{steps}\nAnswer: {answer}"


def two_step(rng: random.Random, error: int) -> Problem:
    name, friend = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    a, c = rng.randint(10, 60), rng.randint(2, 20)
    b = rng.randint(2, a - 2)
    x, y = a - b, a - b + c
    question = f"{name} has {a} {item}. {name} gives {b} to {friend} and then buys {c} more. How many {item} does {name} have now?"
    correct = _answer(f"{a} - {b} = {x}.\n{x} + {c} = {y}.", str(y))
    kind = ("wrong_operation", "arithmetic_slip", "skipped_step")[error % 3]
    if kind == "wrong_operation":
        w = a + b + c
        wrong = _answer(f"{a} + {b} = {a + b}.\n{a + b} + {c} = {w}.", str(w))
        why = f"adds the {b} {item} given away instead of subtracting them"
    elif kind == "arithmetic_slip":
        d = rng.choice((-1, 1))
        w = y + d
        wrong = _answer(f"{a} - {b} = {x + d}.\n{x + d} + {c} = {w}.", str(w))
        why = f"slips on {a} - {b}, which is {x}, not {x + d}"
    else:
        w = x
        wrong = _answer(f"{a} - {b} = {x}.", str(w))
        why = f"forgets the {c} {item} bought at the end"
    return Problem("two_step", question, str(y), correct, wrong, str(w), kind,
                   f"computes {a} - {b} = {x} and {x} + {c} = {y}", why)


def sharing(rng: random.Random, error: int) -> Problem:
    name, friend = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    k = rng.randint(3, 6)
    rest = k * (k - 1) * rng.randint(1, 4)
    b = rng.randint(1, 15)
    total, q = rest + b, rest // k
    question = (f"{name} has {total} {item}, gives {b} to {friend}, and splits the rest equally among "
                f"{name} and {k - 1} siblings. How many {item} does each person get?")
    correct = _answer(f"{total} - {b} = {rest}.\n{rest} ÷ {k} = {q} each.", str(q))
    kind = ("forgot_self", "arithmetic_slip")[error % 2]
    if kind == "forgot_self":
        w = rest // (k - 1)
        wrong = _answer(f"{total} - {b} = {rest}.\n{rest} ÷ {k - 1} = {w} each.", str(w))
        why = f"divides by {k - 1}, forgetting that {name} is one of the {k} people"
    else:
        w = q + 1
        wrong = _answer(f"{total} - {b} = {rest}.\n{rest} ÷ {k} = {w} each.", str(w))
        why = f"slips on {rest} ÷ {k}, which is {q}, not {w}"
    return Problem("sharing", question, str(q), correct, wrong, str(w), kind,
                   f"computes {total} - {b} = {rest} and {rest} ÷ {k} = {q}", why)


def unit_conversion(rng: random.Random, error: int) -> Problem:
    src, one, dst, factor, bad = rng.choice(UNITS)
    value = rng.randint(2, 300) if rng.random() < 0.7 else rng.randint(2, 60) + 0.5
    right, wrong_value = num(value * factor), num(value * bad)
    question = f"How many {dst} are in {num(value)} {src}?"
    correct = _answer(f"1 {one} = {factor} {dst}.\n{num(value)} × {factor} = {right}.", right)
    wrong = _answer(f"1 {one} = {bad} {dst}.\n{num(value)} × {bad} = {wrong_value}.", wrong_value)
    return Problem("unit_conversion", question, right, correct, wrong, wrong_value, "unit_slip",
                   f"uses 1 {one} = {factor} {dst}", f"uses the wrong factor 1 {one} = {bad} {dst}")


def counting(rng: random.Random, error: int) -> Problem:
    numbers = rng.sample(range(1, 40), rng.randint(5, 7))
    kind = rng.choice(("even", "odd", "greater"))
    if kind == "greater":
        threshold = rng.randint(10, 30)
        test, what = (lambda v: v > threshold), f"greater than {threshold}"
    else:
        test, what = (lambda v: v % 2 == 0) if kind == "even" else (lambda v: v % 2 == 1), kind
    hits = [v for v in numbers if test(v)]
    misses = [v for v in numbers if not test(v)]
    if not hits or not misses:
        return counting(rng, error)
    listed = ", ".join(map(str, numbers))
    question = f"How many numbers in the list {listed} are {what}?"
    label = "Numbers" if kind == "greater" else f"{kind.capitalize()} numbers"
    correct = _answer(f"{label}: {', '.join(map(str, hits))}.\nThat is {len(hits)}.", str(len(hits)))
    mistake = ("extra_item", "missed_item")[error % 2] if len(hits) > 1 else "extra_item"
    if mistake == "extra_item":
        extra = rng.choice(misses)
        counted = sorted(hits + [extra], key=numbers.index)
        why = f"also counts {extra}, which is not {what}"
    else:
        dropped = rng.choice(hits)
        counted = [v for v in hits if v != dropped]
        why = f"misses {dropped}"
    wrong = _answer(f"{label}: {', '.join(map(str, counted))}.\nThat is {len(counted)}.", str(len(counted)))
    return Problem("counting", question, str(len(hits)), correct, wrong, str(len(counted)), mistake,
                   f"lists {', '.join(map(str, hits))}", why)


def decimal_comparison(rng: random.Random, error: int) -> Problem:
    whole, tenth = rng.randint(0, 30), rng.randint(2, 9)
    big = f"{whole}.{tenth}"
    small = f"{whole}.{tenth - rng.randint(1, tenth - 1)}{rng.randint(1, 9)}"
    first, second = (big, small) if rng.random() < 0.5 else (small, big)
    question = f"Which number is larger, {first} or {second}?"
    correct = _answer(f"Compare tenths: {big} has {big[-1]} tenths, {small} has {small[-2]}.\nSo {big} is larger.", big)
    wrong = _answer(f"{small} has more digits after the point.\nSo {small} is larger.", small)
    return Problem("decimal_comparison", question, big, correct, wrong, small, "digit_length_fallacy",
                   f"compares the tenths digits ({big[-1]} vs {small[-2]})",
                   "assumes that more decimal digits means a larger number")


def shopping(rng: random.Random, error: int) -> Problem:
    one, many = rng.choice(GOODS)
    price, count = rng.randint(2, 40), rng.randint(3, 15)
    total = price * count
    question = f"One {one} costs ${price}. How much do {count} {many} cost?"
    correct = _answer(f"{count} × ${price} = ${total}.", f"${total}")
    kind = ("arithmetic_slip", "wrong_operation")[error % 2]
    if kind == "arithmetic_slip":
        w = total - price
        wrong = _answer(f"{count} × ${price} = ${w}.", f"${w}")
        why = f"slips on {count} × {price}, which is {total}, not {w}"
    else:
        w = count + price
        wrong = _answer(f"{count} + ${price} = ${w}.", f"${w}")
        why = "adds the count and the price instead of multiplying them"
    return Problem("shopping", question, f"${total}", correct, wrong, f"${w}", kind,
                   f"computes {count} × {price} = {total}", why)


def clock(rng: random.Random, error: int) -> Problem:
    vehicle = rng.choice(VEHICLES)
    hour, minute = rng.randint(6, 20), rng.randrange(5, 60, 5)
    duration = rng.randint(61 - minute, 115 - minute)  # always crosses exactly one hour
    total = minute + duration
    arrive, bad = f"{hour + 1}:{total - 60:02d}", f"{hour}:{total - 60:02d}"
    question = f"A {vehicle} leaves at {hour}:{minute:02d} and the trip takes {duration} minutes. What time does it arrive?"
    correct = _answer(f"{minute} + {duration} = {total} minutes past {hour}:00.\nThat is {arrive}.", arrive)
    wrong = _answer(f"{minute} + {duration} = {total} minutes past {hour}:00.\nThat is {bad}.", bad)
    return Problem("clock", question, arrive, correct, wrong, bad, "dropped_carry",
                   f"turns {total} minutes past {hour}:00 into {arrive}", "drops an hour when carrying the minutes")


def rectangle(rng: random.Random, error: int) -> Problem:
    width, length = sorted(rng.sample(range(2, 41), 2))
    ask, unit = ("perimeter", "area")[error % 2], rng.choice(("cm", "m", "inches"))
    perimeter, area = 2 * (width + length), width * length
    question = f"A rectangle is {width} {unit} wide and {length} {unit} long. What is its {ask}?"
    if ask == "perimeter":
        correct = _answer(f"2 × ({width} + {length}) = {perimeter} {unit}.", str(perimeter))
        if rng.random() < 0.5:
            w, kind, why = width + length, "skipped_step", "adds the two sides once and forgets to double"
            wrong = _answer(f"{width} + {length} = {w} {unit}.", str(w))
        else:
            w, kind, why = area, "wrong_formula", "multiplies the sides, which gives the area"
            wrong = _answer(f"{width} × {length} = {w} {unit}.", str(w))
        return Problem("rectangle", question, str(perimeter), correct, wrong, str(w), kind,
                       f"computes 2 × ({width} + {length}) = {perimeter}", why)
    correct = _answer(f"{width} × {length} = {area} square {unit}.", str(area))
    wrong = _answer(f"2 × ({width} + {length}) = {perimeter} square {unit}.", str(perimeter))
    return Problem("rectangle", question, str(area), correct, wrong, str(perimeter), "wrong_formula",
                   f"computes {width} × {length} = {area}", "computes the perimeter instead of the area")


def percent(rng: random.Random, error: int) -> Problem:
    p = rng.randrange(5, 100, 5)
    unit = 100 // _gcd(p, 100)
    n = unit * rng.randint(1, 1000 // unit)
    result = p * n // 100
    question = f"What is {p}% of {n}?"
    correct = _answer(f"{p}/100 × {n} = {result}.", str(result))
    w = result * 10
    wrong = _answer(f"{p}/10 × {n} = {w}.", str(w))
    return Problem("percent", question, str(result), correct, wrong, str(w), "decimal_slip",
                   f"computes {p}/100 × {n} = {result}", "divides by 10 instead of 100")


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


FAMILIES: tuple[Callable[[random.Random, int], Problem], ...] = (
    two_step, sharing, unit_conversion, counting, decimal_comparison, shopping, clock, rectangle, percent,
)
