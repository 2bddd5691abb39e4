"""The demo generator: deterministic, balanced, leak-free, and its labels are right."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from gram_rr import load_pairs
from gram_rr.data.demo import SPLITS, DemoConfig, generate_split, main
from gram_rr.data.demo_sets import TASK_SETS
from gram_rr.parsing import format_judgment, parse_judgment

DATA = Path(__file__).resolve().parents[1] / "data"
# Committed demo folders, the task set each was generated from, the command that wrote it
# (data/README.md, less `--out`) and its split sizes.
TASK_SET_FOLDERS = {"instructions": DATA / "demo", "basic": DATA / "demo-basic", "arithmetic": DATA / "demo-arithmetic"}
COMMANDS = {
    "instructions": ["--tasks", "instructions", "--seed-size", "240", "--labeled-size", "240",
                     "--unlabeled-size", "600", "--test-size", "120"],
    "basic": ["--tasks", "basic"],
    "arithmetic": ["--tasks", "arithmetic"],
}
DEFAULT_SIZES = {"seed": 400, "labeled": 400, "unlabeled": 1200, "test": 200}
SIZES = {"instructions": {"seed": 240, "labeled": 240, "unlabeled": 600, "test": 120},
         "basic": DEFAULT_SIZES, "arithmetic": DEFAULT_SIZES}
ROUNDS = 3

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


def words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def refuses(response: str) -> bool:
    return any(marker in response.lower() for marker in ("sorry", "cannot", "can't", "rather not", "not able"))


def keyword_kept(question: str, chosen: str, rejected: str) -> bool:
    word = re.fullmatch(r"Write one sentence about .+ that uses the word \"(\w+)\"\.", question).group(1)
    return word in words(chosen) and word not in words(rejected)


def capital_kept(question: str, chosen: str, rejected: str) -> bool:
    asked = re.search(r"capital(?: city)? of ([A-Z]\w*)|([A-Z]\w*)'s capital", question)
    country = asked.group(1) or asked.group(2)
    named = [re.fullmatch(r"The capital of ([A-Z]\w*) is [A-Z][\w ]*\.", r).group(1) for r in (chosen, rejected)]
    return named[0] == country and named[1] != country and country.lower() not in words(rejected)


def translate_kept(question: str, chosen: str, rejected: str) -> bool:
    english = re.search(r"\"(.+)\"", question).group(1)
    return "French" in question and rejected == english and chosen != english


def one_word_kept(question: str, chosen: str, rejected: str) -> bool:
    asks_one_word = re.search(r"one word|single word|one-word", question, re.IGNORECASE)
    return bool(asks_one_word) and re.fullmatch(r"[A-Za-z]+\.?", chosen) is not None and len(rejected.split()) > 1


def capitals_only_kept(question: str, chosen: str, rejected: str) -> bool:
    asks_capitals = re.search(r"capital letters|ALL CAPS|uppercase", question)
    return bool(asks_capitals) and chosen == chosen.upper() and rejected != rejected.upper()


def refusal_kept(question: str, chosen: str, rejected: str) -> bool:
    return refuses(rejected) and not refuses(chosen)


# Per instruction family: does the chosen response keep the question's rule and the rejected one break it?
INSTRUCTION_CHECKS = {"keyword": keyword_kept, "capital": capital_kept, "translate": translate_kept,
                      "one_word": one_word_kept, "capitals_only": capitals_only_kept, "refusal": refusal_kept}


@pytest.fixture(scope="module", params=sorted(TASK_SET_FOLDERS))
def task_set(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def committed(task_set: str) -> dict:
    return {kind: load_pairs(TASK_SET_FOLDERS[task_set] / f"{kind}.jsonl") for kind in SPLITS}


def test_committed_files_are_what_their_command_writes(task_set: str, tmp_path: Path) -> None:
    main(["--out", str(tmp_path), *COMMANDS[task_set]])
    for kind in SPLITS:
        committed_file = TASK_SET_FOLDERS[task_set] / f"{kind}.jsonl"
        assert (tmp_path / f"{kind}.jsonl").read_bytes() == committed_file.read_bytes(), kind
        assert committed_file.stat().st_size < 1_000_000


def test_only_the_arithmetic_set_has_slips_or_counting(committed: dict, task_set: str) -> None:
    kinds = {(p.metadata["family"], p.metadata["error"]) for pairs in committed.values() for p in pairs}
    slips = {k for k in kinds if k[1] == "arithmetic_slip" or k[0] == "counting"}
    assert bool(slips) == (task_set == "arithmetic"), slips


def test_labels_are_correct(committed: dict, task_set: str) -> None:
    for kind, pairs in committed.items():
        for pair in pairs:
            label = pair.label or pair.metadata["gold_label"]
            better, worse = (pair.response_a, pair.response_b) if label == "A" else (pair.response_b, pair.response_a)
            if task_set == "instructions":
                keeps_rule = INSTRUCTION_CHECKS[pair.metadata["family"]]
                assert keeps_rule(pair.question, better, worse), (kind, pair.id, pair.question, better, worse)
                continue
            truth = solve(pair.question)
            assert final_answer(better) == truth, (kind, pair.id, pair.question)
            assert final_answer(worse) != truth, (kind, pair.id, pair.question)


def test_splits_shape_and_balance(committed: dict, task_set: str) -> None:
    sizes = SIZES[task_set]
    for kind, pairs in committed.items():
        assert len(pairs) == sizes[kind]
        labels = [p.label or p.metadata["gold_label"] for p in pairs]
        assert Counter(labels) == {"A": sizes[kind] // 2, "B": sizes[kind] // 2}, kind
        assert len({p.question for p in pairs}) == len(pairs)
        families = {family.__name__ for family, _ in TASK_SETS[task_set]}
        assert {p.metadata["family"] for p in pairs} == families, kind
    unlabeled = committed["unlabeled"]
    assert all(p.label is None and p.rationale is None for p in unlabeled)
    per_label = sizes["unlabeled"] // ROUNDS // 2
    for round_ in range(1, ROUNDS + 1):
        block = [p.metadata["gold_label"] for p in unlabeled if p.metadata["round"] == round_]
        assert Counter(block) == {"A": per_label, "B": per_label}
    assert all(p.rationale is None for p in committed["labeled"] + committed["test"])


def test_seed_proofs_judge_a_then_b_and_conclude_with_the_label(committed: dict, task_set: str) -> None:
    for pair in committed["seed"]:
        judgment = parse_judgment(format_judgment(pair.rationale, pair.label))
        assert judgment.answer == pair.label and judgment.rationale == pair.rationale
        feedback, comparison, conclusion = re.fullmatch(
            r"Feedback:\n(.+)\n\nComparision:\n(.+)\n\nConclusion:\n(.+)", judgment.rationale, re.DOTALL).groups()
        other = "B" if pair.label == "A" else "A"
        assert feedback.count("Response A") == feedback.count("Response B") == 1, pair.id
        assert feedback.index("Response A") < feedback.index("Response B"), pair.id
        assert f"Response {pair.label} is correct: it " in feedback and f"Response {other} is wrong: it " in feedback
        assert comparison.startswith(f"Only Response {pair.label} ") and "Response " + other not in comparison
        if task_set != "instructions":
            assert comparison == f"Only Response {pair.label} gets the correct answer, {solve(pair.question)}."
        assert conclusion == f"Response {pair.label} is better."
        assert len(pair.rationale.split()) < 70


def test_no_question_leaks_across_splits(committed: dict, task_set: str) -> None:
    questions = {kind: {p.question for p in pairs} for kind, pairs in committed.items()}
    other_seed = {kind: {p.question for p in generate_split(kind, n, seed=7, tasks=task_set)}
                  for kind, n in SIZES[task_set].items()}
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
