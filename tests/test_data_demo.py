"""The demo generator: deterministic, balanced, leak-free, and its labels are right."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from gram_rr import load_pairs
from gram_rr.data.demo import SPLITS, DemoConfig, generate_split, main
from gram_rr.data.demo_tasks import TASK_SETS
from gram_rr.parsing import format_judgment, parse_judgment

DATA = Path(__file__).resolve().parents[1] / "data"
# Committed demo folders and the task set each was generated from.
TASK_SET_FOLDERS = {"basic": DATA / "demo", "arithmetic": DATA / "demo-arithmetic"}
SIZES = {"seed": 400, "labeled": 400, "unlabeled": 1200, "test": 200}

# Conversion factors written out again here, independent of the generator's table.
FACTORS = {("centimeters", "meters"): 100, ("meters", "kilometers"): 1000, ("minutes", "hours"): 60,
           ("seconds", "minutes"): 60, ("grams", "kilograms"): 1000, ("hours", "days"): 24,
           ("inches", "feet"): 12, ("milliliters", "liters"): 1000, ("days", "weeks"): 7, ("feet", "yards"): 3}


def solve(question: str) -> str:
    """The correct answer, recomputed from the question text alone."""
    if m := re.search(r"has (\d+) \w+\. \w+ gives (\d+) to \w+ and then buys (\d+) more", question):
        a, b, c = map(int, m.groups())
        return str(a - b + c)
    if m := re.search(r"has (\d+) \w+, gives (\d+) to \w+, and splits the rest equally among \w+ and (\d+) siblings", question):
        total, given, siblings = map(int, m.groups())
        share = Fraction(total - given, siblings + 1)
        assert share.denominator == 1, question
        return str(share)
    if m := re.fullmatch(r"How many (\w+) are in ([\d.]+) (\w+)\?", question):
        value = Fraction(m.group(2)) * FACTORS[(m.group(1), m.group(3))]
        return str(value.numerator) if value.denominator == 1 else str(float(value))
    if m := re.fullmatch(r"How many numbers in the list ([\d, ]+) are (even|odd|greater than (\d+))\?", question):
        numbers = [int(x) for x in m.group(1).split(", ")]
        test = {"even": lambda v: v % 2 == 0, "odd": lambda v: v % 2 == 1}.get(m.group(2), lambda v: v > int(m.group(3)))
        return str(sum(map(test, numbers)))
    if m := re.fullmatch(r"Which number is larger, ([\d.]+) or ([\d.]+)\?", question):
        return max(m.groups(), key=float)
    if m := re.fullmatch(r"One \w+ costs \$(\d+)\. How much do (\d+) \w+ cost\?", question):
        return f"${int(m.group(1)) * int(m.group(2))}"
    if m := re.fullmatch(r"A \w+ leaves at (\d+):(\d\d) and the trip takes (\d+) minutes\. What time does it arrive\?", question):
        minutes = int(m.group(1)) * 60 + int(m.group(2)) + int(m.group(3))
        return f"{minutes // 60}:{minutes % 60:02d}"
    if m := re.fullmatch(r"A rectangle is (\d+) (\w+) wide and (\d+) \2 long\. What is its (perimeter|area)\?", question):
        w, l = int(m.group(1)), int(m.group(3))
        return str(2 * (w + l) if m.group(4) == "perimeter" else w * l)
    if m := re.fullmatch(r"What is (\d+)% of (\d+)\?", question):
        return str(Fraction(int(m.group(1)) * int(m.group(2)), 100))
    raise AssertionError(f"no solver for {question!r}")


def final_answer(response: str) -> str:
    return re.search(r"Answer: (\S+)$", response).group(1)


@pytest.fixture(scope="module", params=sorted(TASK_SET_FOLDERS))
def task_set(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def committed(task_set: str) -> dict:
    return {kind: load_pairs(TASK_SET_FOLDERS[task_set] / f"{kind}.jsonl") for kind in SPLITS}


def test_committed_files_match_the_generator(committed: dict, task_set: str) -> None:
    for kind in SPLITS:
        regenerated = generate_split(kind, SIZES[kind], seed=0, rounds=3, tasks=task_set)
        assert committed[kind] == regenerated, kind
        assert (TASK_SET_FOLDERS[task_set] / f"{kind}.jsonl").stat().st_size < 1_000_000


def test_basic_task_set_has_no_arithmetic_slips_or_counting(committed: dict, task_set: str) -> None:
    kinds = {(p.metadata["family"], p.metadata["error"]) for pairs in committed.values() for p in pairs}
    slips = {k for k in kinds if k[1] == "arithmetic_slip" or k[0] == "counting"}
    assert bool(slips) == (task_set == "arithmetic"), slips


def test_labels_are_correct(committed: dict) -> None:
    for kind, pairs in committed.items():
        for pair in pairs:
            label = pair.label or pair.metadata["gold_label"]
            better, worse = (pair.response_a, pair.response_b) if label == "A" else (pair.response_b, pair.response_a)
            truth = solve(pair.question)
            assert final_answer(better) == truth, (kind, pair.id, pair.question)
            assert final_answer(worse) != truth, (kind, pair.id, pair.question)


def test_splits_shape_and_balance(committed: dict, task_set: str) -> None:
    for kind, pairs in committed.items():
        assert len(pairs) == SIZES[kind]
        labels = [p.label or p.metadata["gold_label"] for p in pairs]
        assert Counter(labels) == {"A": SIZES[kind] // 2, "B": SIZES[kind] // 2}, kind
        assert len({p.question for p in pairs}) == len(pairs)
        families = {family.__name__ for family, _ in TASK_SETS[task_set]}
        assert {p.metadata["family"] for p in pairs} == families, kind
    unlabeled = committed["unlabeled"]
    assert all(p.label is None and p.rationale is None for p in unlabeled)
    for round_ in (1, 2, 3):
        block = [p.metadata["gold_label"] for p in unlabeled if p.metadata["round"] == round_]
        assert Counter(block) == {"A": 200, "B": 200}
    assert all(p.rationale is None for p in committed["labeled"] + committed["test"])


def test_seed_proofs_are_well_formed_and_short(committed: dict) -> None:
    for pair in committed["seed"]:
        judgment = parse_judgment(format_judgment(pair.rationale, pair.label))
        assert judgment.answer == pair.label
        assert re.fullmatch(r"Feedback:\n.+\n\nComparision:\n.+\n\nConclusion:\nResponse [AB] is better\.",
                            pair.rationale, re.DOTALL)
        assert f"The correct answer is {solve(pair.question)};" in pair.rationale
        assert pair.rationale.endswith(f"Response {pair.label} is better.")
        assert len(pair.rationale.split()) < 70


def test_no_question_leaks_across_splits(committed: dict) -> None:
    questions = {kind: {p.question for p in pairs} for kind, pairs in committed.items()}
    other_seed = {kind: {p.question for p in generate_split(kind, 300, seed=7)} for kind in SPLITS}
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1 :]:
            assert not questions[a] & questions[b], (a, b)
            assert not other_seed[a] & questions[b] and not questions[a] & other_seed[b], (a, b)


def test_determinism_and_cli(tmp_path: Path) -> None:
    assert generate_split("test", 50, seed=3) == generate_split("test", 50, seed=3)
    assert generate_split("test", 50, seed=3) != generate_split("test", 50, seed=4)
    args = ["--seed-size", "20", "--labeled-size", "10", "--unlabeled-size", "30", "--test-size", "10", "--rounds", "2"]
    main(["--out", str(tmp_path / "a"), *args])
    main(["--out", str(tmp_path / "b"), *args])
    for kind in SPLITS:
        assert (tmp_path / "a" / f"{kind}.jsonl").read_bytes() == (tmp_path / "b" / f"{kind}.jsonl").read_bytes()
    rounds = Counter(p.metadata["round"] for p in load_pairs(tmp_path / "a" / "unlabeled.jsonl"))
    assert rounds == {1: 15, 2: 15}
    assert DemoConfig().unlabeled_size == 1200
