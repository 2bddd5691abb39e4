"""RewardReasoner against a scripted fake engine: vote combining, orders, batching, TRL adapter."""

from __future__ import annotations

import re

import pytest

from gram_rr.data.records import PreferencePair
from gram_rr.engines.base import Completion, Engine, SamplingConfig
from gram_rr.judge import JudgeConfig, RewardReasoner, combine_votes
from gram_rr.parsing import format_judgment
from gram_rr.verdict import Vote

_RESPONSE = re.compile(r"\[The Start of Assistant (A|B)'s Response\]\n(.*?)\n\[The End of", re.DOTALL)


def shown(conversation) -> tuple[str, str]:
    """The (A, B) responses a judge prompt shows."""
    found = dict(_RESPONSE.findall(conversation[-1]["content"]))
    return found["A"], found["B"]


class FakeEngine:
    """Answers with ``script(a, b, sample_index)`` -> generated text; records every call."""

    def __init__(self, script):
        self.script = script
        self.calls: list[tuple[list, SamplingConfig]] = []

    def generate(self, conversations, sampling):
        self.calls.append((conversations, sampling))
        return [
            [Completion(text=self.script(*shown(c), s), num_tokens=7) for s in range(sampling.n)] for c in conversations
        ]

    def score(self, conversations, continuations):
        raise NotImplementedError("not used by the judge")

    def close(self):
        pass


def says(answer: str | None) -> str:
    return format_judgment("because", answer) if answer else "<think>I cannot decide</think>"


def prefers_longer(a, b, s):
    return says("A" if len(a) > len(b) else "B")


def test_fake_engine_satisfies_protocol():
    assert isinstance(FakeEngine(prefers_longer), Engine)


def test_compare_parses_verdict_and_rationale():
    judge = RewardReasoner(FakeEngine(prefers_longer))
    verdict = judge.compare("q", "short", "much longer")
    assert verdict.winner == "B" and verdict.confidence == 1.0
    assert verdict.votes[0].rationale == "because" and verdict.abstentions == 0


def test_compare_many_is_one_generate_call_for_pairs_orders_and_votes():
    engine = FakeEngine(prefers_longer)
    judge = RewardReasoner(engine)
    pairs = [("q1", "aa", "b"), ("q2", "a", "bbb"), ("q3", "aaaa", "bb")]
    verdicts = judge.compare_many(pairs, votes=4, both_orders=True)
    assert len(engine.calls) == 1
    conversations, sampling = engine.calls[0]
    assert len(conversations) == 6 and sampling.n == 4 and sampling.temperature > 0
    assert [v.winner for v in verdicts] == ["A", "B", "A"]
    assert all(len(v.votes) == 8 and v.confidence == 1.0 for v in verdicts)
    # the swapped prompt really shows B first, and its votes are mapped back
    assert shown(conversations[1]) == ("b", "aa")
    assert [v.swapped for v in verdicts[0].votes] == [False] * 4 + [True] * 4
    assert all(v.answer == "A" for v in verdicts[0].votes)


def test_single_vote_defaults_to_greedy_and_config_temperature_applies():
    engine = FakeEngine(prefers_longer)
    RewardReasoner(engine).compare("q", "a", "b")
    assert engine.calls[-1][1].temperature == 0.0 and engine.calls[-1][1].n == 1
    RewardReasoner(engine, JudgeConfig(temperature=0.9, max_new_tokens=64)).compare("q", "a", "b")
    assert engine.calls[-1][1].temperature == 0.9 and engine.calls[-1][1].max_new_tokens == 64
    with pytest.raises(ValueError, match="temperature > 0"):
        RewardReasoner(engine).compare("q", "a", "b", votes=3, temperature=0.0)


def test_position_biased_judge_disagrees_across_orders_and_gets_no_winner():
    judge = RewardReasoner(FakeEngine(lambda a, b, s: says("A")))
    one = judge.compare("q", "x", "y")
    both = judge.compare("q", "x", "y", both_orders=True)
    assert one.winner == "A" and one.confidence == 1.0
    assert both.winner is None and both.confidence == 0.0
    assert [v.answer for v in both.votes] == ["A", "B"]


def test_partial_order_disagreement_lowers_confidence():
    # votes 0-2 follow quality, vote 3 always says "A" (position bias)
    def script(a, b, s):
        return says("A") if s == 3 else prefers_longer(a, b, s)

    verdict = RewardReasoner(FakeEngine(script)).compare("q", "long one", "s", votes=4, both_orders=True)
    assert verdict.winner == "A"
    assert verdict.confidence == pytest.approx(7 / 8)


def test_abstentions_are_reported_and_never_counted_as_b():
    verdict = RewardReasoner(FakeEngine(lambda a, b, s: says(None))).compare("q", "a", "b", votes=3)
    assert verdict.winner is None and verdict.abstentions == 3
    assert verdict.answer_shares == {"A": 0.0, "B": 0.0}

    def mostly_abstain(a, b, s):
        return says("A") if s == 0 else says(None)

    verdict = RewardReasoner(FakeEngine(mostly_abstain)).compare("q", "a", "b", votes=4)
    assert verdict.winner == "A" and verdict.confidence == 0.25 and verdict.abstentions == 3
    # the reference parser's failure mode: text after the last "answer:" is empty -> "B"
    verdict = RewardReasoner(FakeEngine(lambda a, b, s: "The answer:")).compare("q", "a", "b")
    assert verdict.winner is None and verdict.abstentions == 1


def test_combine_votes_tie_rule():
    tie = combine_votes([Vote("A", ""), Vote("B", ""), Vote(None, "")])
    assert tie.winner is None and tie.confidence == 0.0
    majority = combine_votes([Vote("B", ""), Vote("B", ""), Vote("A", ""), Vote(None, "")])
    assert majority.winner == "B" and majority.confidence == 0.5


def test_preference_pair_with_conversation_is_rendered():
    engine = FakeEngine(prefers_longer)
    pair = PreferencePair(
        id="1",
        question="ignored rendering",
        response_a="aaa",
        response_b="b",
        conversation=[
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "add 2+2"},
        ],
    )
    assert RewardReasoner(engine).compare_many([pair])[0].winner == "A"
    prompt = engine.calls[0][0][0][-1]["content"]
    assert "User: hi\n\nAssistant: hello\n\nUser: add 2+2" in prompt


def test_rank_and_best_of_n_batch_per_step():
    candidates = ["a" * n for n in (3, 9, 1, 7, 5, 2, 8, 4)]
    engine = FakeEngine(prefers_longer)
    judge = RewardReasoner(engine)
    assert judge.best_of_n("q", candidates) == 1
    assert [len(convs) for convs, _ in engine.calls] == [4, 2, 1]
    engine.calls.clear()
    assert judge.rank("q", candidates) == sorted(range(8), key=lambda i: -len(candidates[i]))
    assert sum(len(convs) for convs, _ in engine.calls) <= 17  # merge sort of 8: at most 17 comparisons


def test_best_of_n_many_batches_questions_together():
    engine = FakeEngine(prefers_longer)
    winners = RewardReasoner(engine).best_of_n_many(["q1", "q2"], [["a", "aaa", "aa"], ["bb", "b", "bbbb", "bbb"]])
    assert winners == [1, 2]
    assert [len(convs) for convs, _ in engine.calls] == [3, 2]


def test_select_many_logs_every_comparison_with_rationale():
    selection = RewardReasoner(FakeEngine(prefers_longer)).select_many(["q"], [["a", "aaa", "aa"]], mode="rank")[0]
    assert selection.ranking == [1, 2, 0] and selection.best == 1
    assert all(c.verdict.votes[0].rationale == "because" for c in selection.comparisons)


class TestTRLAdapter:
    def test_failure_stays_minus_one_when_shuffled(self):
        # TRL's old bug mapped a shuffled failure back with `1 - rank`, turning -1 into 2.
        judge = RewardReasoner(FakeEngine(lambda a, b, s: says(None)))
        results = judge.judge(["p"] * 50, [["x", "y"]] * 50, shuffle_order=True)
        assert results == [-1] * 50

    def test_shuffled_answers_map_back_to_the_better_completion(self):
        engine = FakeEngine(prefers_longer)
        judge = RewardReasoner(engine)
        completions = [["long answer", "s"], ["s", "long answer"]] * 20
        assert judge.judge(["p"] * 40, completions) == [0, 1] * 20
        shown_first = [shown(c)[0] for c in engine.calls[0][0]]
        assert 0 < shown_first.count("s") < 40  # the order really was shuffled

    def test_mixed_failures_without_shuffle(self):
        def script(a, b, s):
            return says(None) if "fail" in a else prefers_longer(a, b, s)

        judge = RewardReasoner(FakeEngine(script))
        assert judge.judge(["p"] * 3, [["fail", "y"], ["xx", "y"], ["x", "yy"]], shuffle_order=False) == [-1, 0, 1]

    def test_rejects_wrong_shapes(self):
        judge = RewardReasoner(FakeEngine(prefers_longer))
        with pytest.raises(ValueError, match="exactly 2"):
            judge.judge(["p"], [["a", "b", "c"]])
