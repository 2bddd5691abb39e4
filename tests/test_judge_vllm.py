"""RewardReasoner on the default SmolLM2 through the shared vLLM engine."""

from __future__ import annotations

import pytest

from gram_rr.data import load_pairs
from gram_rr.judge import JudgeConfig, RewardReasoner, combine_votes
from gram_rr.parsing import parse_answer

pytestmark = [pytest.mark.model, pytest.mark.vllm]


@pytest.fixture(scope="module")
def pairs(shared_data):
    return load_pairs(shared_data / "llmbar" / "LLMBar_Natural.json")[:4]


@pytest.fixture(scope="module")
def reasoner(vllm_engine):
    return RewardReasoner(vllm_engine, JudgeConfig(max_new_tokens=48))


def check_verdict(verdict, n_votes):
    assert len(verdict.votes) == n_votes
    for vote in verdict.votes:
        assert vote.text and vote.num_tokens > 0
        raw = parse_answer(vote.text)
        # the stored answer is the parsed one, flipped back for swapped votes; None stays None
        assert vote.answer == ({"A": "B", "B": "A"}.get(raw) if vote.swapped else raw)
        if vote.answer is None:  # an abstention has no probability
            assert vote.probability is None
        elif vote.probability is not None:  # the answer-token probability, mapped back like the answer
            assert 0.0 <= vote.probability <= 1.0
    assert verdict.abstentions == sum(parse_answer(v.text) is None for v in verdict.votes)
    recombined = combine_votes(verdict.votes)
    assert (verdict.winner, verdict.confidence) == (recombined.winner, recombined.confidence)
    assert verdict.probability == recombined.probability


def test_greedy_verdicts_parse_and_abstentions_are_reported(reasoner, pairs):
    verdicts = reasoner.compare_many(pairs, both_orders=True)
    assert len(verdicts) == len(pairs)
    for verdict in verdicts:
        check_verdict(verdict, 2)
        assert [v.swapped for v in verdict.votes] == [False, True]
        if verdict.winner == "B":  # never from abstentions
            assert sum(v.answer == "B" for v in verdict.votes) > sum(v.answer == "A" for v in verdict.votes)


def test_vote_at_k_returns_k_distinct_samples(reasoner, pairs):
    verdicts = reasoner.compare_many(pairs, votes=4, temperature=1.0)
    for verdict in verdicts:
        check_verdict(verdict, 4)
    distinct = [len({v.text for v in verdict.votes}) for verdict in verdicts]
    assert max(distinct) > 1, f"all votes identical at temperature 1.0: {distinct}"


def test_best_of_n_and_rank_on_real_model(reasoner, pairs):
    candidates = [p.response_a for p in pairs[:4]]
    order = reasoner.rank(pairs[0].question, candidates)
    assert sorted(order) == list(range(4))
    assert 0 <= reasoner.best_of_n(pairs[0].question, candidates) < 4
