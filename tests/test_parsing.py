"""Verdict parsing: the released format, abstentions, and never a default to B."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gram_rr import parse_judgment
from gram_rr.parsing import format_judgment, parse_answer


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<think>\nFeedback: ok\n</think>\n<answer>\nA\n</answer>", "A"),
        ("<think>x</think><answer>B</answer>", "B"),
        ("<answer>  b \n</answer>", "B"),
        ("<ANSWER>A</ANSWER>", "A"),
        ("<answer>**A**</answer>", "A"),
        ("<answer>A.</answer>", "A"),
        # abstentions
        ("<think>I cannot decide</think>", None),  # no answer block
        ("<answer></answer>", None),  # empty
        ("<answer>\n\n</answer>", None),
        ("<answer>A or B</answer>", None),  # names both
        ("<answer>A and B</answer>", None),
        ("<answer>both</answer>", None),
        ("<answer>neither</answer>", None),
        ("<answer>C</answer>", None),
        ("<answer>Response A</answer>", None),
        ("<think>long reasoning</think><answer>\nA", None),  # cut off before the close tag
        ("The answer: B", None),  # the reference parser's format is not ours
        ("answer:", None),  # the reference returns B for this
        ("", None),
        # the last closed block is the verdict (a model may quote the format first)
        ("<answer>A or B</answer> then <answer>B</answer>", "B"),
        ("<answer>A</answer> <answer>", None),  # the final block is cut off: an abstention
        # an answer block inside the rationale never counts
        ("<think>format: <answer>B</answer></think>\n<answer>\nA", None),
        ("<think>format: <answer>B</answer></think>\n<answer>\nA\n</answer>", "A"),
        ("<think>format: <answer>B</answer></think>", None),
        ("<think>still thinking <answer>B</answer>", None),  # the rationale never closed
    ],
)
def test_parse_answer_cases(text, expected):
    assert parse_answer(text) == expected
    assert parse_judgment(text).answer == expected
    assert parse_judgment(text).abstained == (expected is None)


def test_rationale_is_think_content():
    judgment = parse_judgment("<think>\n Feedback: A is right.\n</think>\n<answer>\nA\n</answer>")
    assert judgment.rationale == "Feedback: A is right."
    untagged = parse_judgment("A is right because 2+2=4.\n<answer>A</answer>")
    assert untagged.rationale == "A is right because 2+2=4."


def test_format_round_trips_and_matches_released_layout():
    text = format_judgment("Feedback: fine", "B")
    assert text == "<think>\nFeedback: fine\n</think>\n<answer>\nB\n</answer>"
    assert parse_judgment(text).answer == "B"
    with pytest.raises(ValueError, match="'A' or 'B'"):
        format_judgment("x", "C")


_TAG_ALPHABET = st.sampled_from(list("<>/answerABab \n*.") + ["<answer>", "</answer>", "<think>", "</think>", "B", "A"])
_B_BLOCK = re.compile(r"<answer>[\s*\"'`.]*b[\s*\"'`.]*</answer>", re.IGNORECASE)


@settings(max_examples=500, deadline=None)
@given(st.lists(_TAG_ALPHABET, max_size=40).map("".join))
def test_no_text_parses_as_b_without_a_b_answer_block(text):
    if parse_answer(text) == "B":
        assert _B_BLOCK.search(text), text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_text_without_answer_tag_abstains(text):
    if "<answer>" not in text.lower():
        assert parse_answer(text) is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="<>"), max_size=100), st.sampled_from(["A", "B"]))
def test_noise_around_a_valid_block_keeps_the_answer(noise, answer):
    assert parse_answer(f"{noise}<answer>\n{answer}\n</answer>{noise}") == answer


def reference_answer(text: str) -> str | None:
    """An independent, slow statement of the rule: no verdict while a <think> is open at the end;
    only the text after the last </think> counts; its final <answer> must be closed."""
    lower = text.lower()
    if lower.rfind("<think>") > lower.rfind("</think>"):
        return None
    cut = lower.rfind("</think>")
    tail = text[cut + len("</think>"):] if cut >= 0 else text
    tail_lower = tail.lower()
    start = tail_lower.rfind("<answer>")
    if start < 0 or "</answer>" not in tail_lower[start:]:
        return None
    content = tail[start + len("<answer>"): start + tail_lower[start:].index("</answer>")]
    token = content.strip().strip("*\"'`.").strip().upper()
    return token if token in ("A", "B") else None


ADVERSARIAL_PIECES = ["<think>", "</think>", "<answer>", "</answer>", "<ANSWER>", "</Think>", "A", "B", "\n", " ",
                      "**", "format: ", "<answer>\nB\n</answer>", "<answer>A", "x"]


def adversarial_strings(count: int = 10_000, seed: int = 0) -> list[str]:
    """``count`` seeded strings of 0 to 14 pieces: tags (any case), letters, quoted blocks, filler
    (also used by ``scripts/hardening_probes.py``)."""
    import random

    rng = random.Random(seed)
    return ["".join(rng.choice(ADVERSARIAL_PIECES) for _ in range(rng.randint(0, 14))) for _ in range(count)]


def test_adversarial_fuzz_never_reads_a_letter_from_the_rationale_or_an_unclosed_block():
    """10,000 seeded strings built from tags, letters and filler: the parser agrees with the
    reference rule, so no letter comes from inside <think> or from a block that never closes."""
    disagreements = [text for text in adversarial_strings() if parse_answer(text) != reference_answer(text)]
    assert not disagreements, disagreements[:5]


@pytest.mark.parametrize("unit", ["<answer>", "<think>", "</think>", "<answer>A</answer>", "<think><answer>B</answer>"])
def test_parser_is_linear_on_128kb(unit):
    import time

    text = unit * (131_072 // len(unit))
    started = time.perf_counter()
    parse_judgment(text)
    assert time.perf_counter() - started < 0.5  # quadratic parsing took 7.9 s on 16,000 "<answer>"
