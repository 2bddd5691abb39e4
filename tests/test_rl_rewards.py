"""Group-relative GRPO rewards (gram_rr.rl) with scripted judges, and a real TRL GRPOTrainer run.

The scripted judges answer from a hidden strength per completion, so every reward has a
value computed here independently of the tournament code.
"""

from __future__ import annotations

import random
from itertools import permutations

import pytest

from gram_rr.judge import RewardReasoner, combine_votes
from gram_rr.pair_prompt import question_text
from gram_rr.rl import GroupJudgeReward, GroupRewardConfig
from gram_rr.rl.tournament import bradley_terry, round_robin_pairs, sampled_pairs, sigmoid, win_rates
from gram_rr.verdict import Verdict, Vote
from test_judge_unit import FakeEngine, prefers_longer


class ScriptedJudge:
    """``verdict(question, a, b)`` for every pair; records each ``compare_many`` call."""

    def __init__(self, verdict):
        self.verdict = verdict
        self.calls: list[tuple[list, bool | None]] = []

    def compare_many(self, pairs, votes=None, both_orders=None):
        self.calls.append((list(pairs), both_orders))
        return [self.verdict(*pair) for pair in pairs]

    def shown(self) -> list[tuple[str, str]]:
        return [(a, b) for pairs, _ in self.calls for _, a, b in pairs]


def soft(p: float) -> Verdict:
    return Verdict(winner="A" if p > 0.5 else "B" if p < 0.5 else None, confidence=1.0, probability=p)


def voted(*answers: str | None) -> Verdict:
    return combine_votes([Vote(answer, "because") for answer in answers])


def strength(text: str) -> float:
    """The hidden strength a completion names: ``"... s=<float>"``."""
    return float(text.rsplit("s=", 1)[1])


def bradley_terry_judge(bias: float = 0.0):
    """P(A better) = sigmoid(strength(A) - strength(B) + bias): ``bias`` favours the first-shown response."""
    return ScriptedJudge(lambda q, a, b: soft(sigmoid(strength(a) - strength(b) + bias)))


def trl_call(reward, prompts, completions, **columns):
    """Call ``reward`` the way GRPOTrainer does (its extra keyword arguments included)."""
    logged: dict[str, float] = {}
    rewards = reward(
        prompts=prompts,
        completions=completions,
        completion_ids=[[0]] * len(completions),
        trainer_state=None,
        log_extra=lambda column, values: None,
        log_metric=logged.__setitem__,
        **columns,
    )
    assert len(rewards) == len(completions) and all(isinstance(r, float) for r in rewards)
    return rewards, logged


# ---- round robin -------------------------------------------------------------------------------


def test_round_robin_win_rates_are_exact_on_a_four_item_group():
    judge = ScriptedJudge(lambda q, a, b: voted("A" if len(a) > len(b) else "B"))
    completions = ["ccc", "a", "dddd", "bb"]
    rewards, _ = trl_call(GroupJudgeReward(judge), ["q"] * 4, completions)
    assert rewards == [2 / 3, 0.0, 1.0, 1 / 3]  # beats 2, 0, 3 and 1 of its 3 opponents


def test_both_orders_are_requested_and_combined():
    bias, hidden = 0.8, [0.3, -1.1, 2.0, 0.7]
    judge = bradley_terry_judge(bias)
    completions = [f"answer s={h}" for h in hidden]
    rewards, _ = trl_call(GroupJudgeReward(judge), ["q"] * 4, completions)
    assert len(judge.calls) == 1 and judge.calls[0][1] is False  # orders are in the batch, not doubled by the judge
    assert sorted(judge.shown()) == sorted(permutations(completions, 2))  # every ordered pair exactly once
    for i, h in enumerate(hidden):
        others = [g for j, g in enumerate(hidden) if j != i]
        expected = sum((sigmoid(h - g + bias) + sigmoid(h - g - bias)) / 2 for g in others) / len(others)
        assert rewards[i] == pytest.approx(expected, abs=1e-12)
    assert sum(rewards) == pytest.approx(len(hidden) / 2, abs=1e-12)


def test_one_order_per_pair_without_both_orders():
    judge = bradley_terry_judge()
    completions = [f"x s={h}" for h in (1.0, 2.0, 3.0, 4.0, 5.0)]
    rewards, _ = trl_call(GroupJudgeReward(judge, both_orders=False), ["q"] * 5, completions)
    shown = judge.shown()
    assert sorted(frozenset(p) for p in shown) == sorted(frozenset(p) for p in round_robin_pairs_of(completions))
    assert rewards == sorted(rewards) and len(set(rewards)) == 5  # a position-free judge: order of strengths


def round_robin_pairs_of(items):
    return [(items[i], items[j]) for i, j in round_robin_pairs(len(items))]


@pytest.mark.parametrize("verdict", [lambda q, a, b: soft(0.9), lambda q, a, b: voted("A", "A")])
def test_a_position_biased_judge_gives_equal_rewards_with_both_orders(verdict):
    completions = ["short", "a much longer answer", "mid answer", "x"]
    rewards, _ = trl_call(GroupJudgeReward(ScriptedJudge(verdict)), ["q"] * 4, completions)
    assert rewards == pytest.approx([0.5] * 4, abs=1e-12)


def test_groups_are_split_by_prompt_and_judged_in_one_call():
    judge = bradley_terry_judge()
    prompts = ["p1", "p2", "p1", "p2", "p1", "p3", "p2"]  # interleaved; p3 is alone
    completions = [f"{p} s={k}" for k, p in enumerate(prompts)]
    rewards, _ = trl_call(GroupJudgeReward(judge), prompts, completions)
    assert len(judge.calls) == 1
    for question, a, b in judge.calls[0][0]:
        assert a.startswith(question) and b.startswith(question)  # never across prompts
    assert len(judge.calls[0][0]) == 2 * (3 + 3)  # two groups of 3: 3 pairs each, both orders
    assert rewards[5] == 0.5  # a group of one has nobody to beat
    for prompt in ("p1", "p2"):
        members = [k for k, p in enumerate(prompts) if p == prompt]
        alone, _ = trl_call(GroupJudgeReward(bradley_terry_judge()), [prompt] * 3, [completions[k] for k in members])
        assert [rewards[k] for k in members] == alone


def test_conversational_prompts_and_completions_reach_the_judge_as_text():
    engine = FakeEngine(prefers_longer)
    system = {"role": "system", "content": "Be brief."}
    prompt_a = [system, {"role": "user", "content": "Name a colour."}]
    prompt_b = [system, {"role": "user", "content": "Name a fruit."}]
    prompts = [prompt_a, prompt_a, prompt_a, prompt_b, prompt_b]
    texts = ["red", "green", "blue!!", "fig", "apple"]
    completions = [[{"role": "assistant", "content": t}] for t in texts]
    rewards, _ = trl_call(GroupJudgeReward(RewardReasoner(engine)), prompts, completions)
    assert rewards == [0.0, 0.5, 1.0, 0.0, 1.0]
    assert len(engine.calls) == 1 and len(engine.calls[0][0]) == 2 * (3 + 1)
    rendered = question_text(prompt_a)
    assert "System: Be brief." in rendered
    assert sum(rendered in conversation[-1]["content"] for conversation in engine.calls[0][0]) == 6


# ---- votes, abstentions, logging ---------------------------------------------------------------


def test_abstentions_count_as_half_a_win_and_are_logged():
    # one vote for the longer response, one abstention: P(longer better) = 0.75 in either order
    judge = ScriptedJudge(lambda q, a, b: voted("A" if len(a) > len(b) else "B", None))
    completions = ["aa", "a", "aaaa", "aaa"]
    rewards, logged = trl_call(GroupJudgeReward(judge, name="rr_judge"), ["q"] * 4, completions)
    beaten = [1, 0, 3, 2]
    assert rewards == pytest.approx([(0.75 * r + 0.25 * (3 - r)) / 3 for r in beaten], abs=1e-12)
    assert logged == {"rewards/rr_judge/abstentions": 0.5}


def test_a_judge_that_always_abstains_gives_one_half():
    judge = ScriptedJudge(lambda q, a, b: voted(None, None))
    rewards, logged = trl_call(GroupJudgeReward(judge), ["q"] * 3, ["a", "bb", "ccc"])
    assert rewards == [0.5] * 3 and logged == {"rewards/group_judge/abstentions": 1.0}


def test_probability_is_preferred_over_the_vote_share():
    verdict = voted("A", "A", "B")
    verdict.probability = 0.2
    judge = ScriptedJudge(lambda q, a, b: verdict if a == "x" else soft(1 - 0.2))
    rewards, _ = trl_call(GroupJudgeReward(judge), ["q"] * 2, ["x", "y"])
    assert rewards == pytest.approx([0.2, 0.8], abs=1e-12)


def test_trl_names_the_reward_by_its_name():
    from trl.trainer.utils import get_callable_name

    assert get_callable_name(GroupJudgeReward(bradley_terry_judge())) == "group_judge"
    assert get_callable_name(GroupJudgeReward(bradley_terry_judge(), name="gram_rr")) == "gram_rr"


def test_config_rejects_unknown_choices():
    with pytest.raises(ValueError, match="scheme"):
        GroupRewardConfig(scheme="swiss")
    with pytest.raises(ValueError, match="bt_output"):
        GroupJudgeReward(bradley_terry_judge(), bt_output="elo")


# ---- reference mode ----------------------------------------------------------------------------


def test_reference_mode_scores_each_completion_against_its_reference():
    bias = -0.6
    judge = bradley_terry_judge(bias)
    prompts = ["p1", "p1", "p2"]
    completions = ["c s=1.5", "c s=-0.5", "c s=0.0"]
    references = ["ref s=0.5", "ref s=0.5", "ref s=2.0"]
    rewards, _ = trl_call(
        GroupJudgeReward(judge, reference_column="answer"), prompts, completions, answer=references, other=[1, 2, 3]
    )
    assert len(judge.calls) == 1 and len(judge.calls[0][0]) == 6
    for reward, c, r in zip(rewards, completions, references):
        d = strength(c) - strength(r)
        assert reward == pytest.approx((sigmoid(d + bias) + sigmoid(d - bias)) / 2, abs=1e-12)


def test_reference_mode_names_a_missing_column():
    reward = GroupJudgeReward(bradley_terry_judge(), reference_column="answer")
    with pytest.raises(ValueError, match="'answer' is not among the dataset's columns \\['solution'\\]"):
        trl_call(reward, ["q"], ["a s=1"], solution=["b s=0"])


# ---- large groups: sampled pairs and Bradley-Terry ---------------------------------------------


@pytest.mark.parametrize("n", [3, 5, 8, 12, 13, 30])
@pytest.mark.parametrize("per_item", [1, 2, 3, 4, 7])
def test_sampled_pairs_are_distinct_connected_and_cover_every_item(n, per_item):
    pairs = sampled_pairs(n, per_item, random.Random(n * 10 + per_item))
    assert len(set(pairs)) == len(pairs) and all(i < j for i, j in pairs)
    degree = [sum(k in p for p in pairs) for k in range(n)]
    assert min(degree) >= min(per_item, n - 1)
    reached, frontier = {0}, [0]
    while frontier:
        k = frontier.pop()
        for i, j in pairs:
            if k in (i, j) and (other := j if k == i else i) not in reached:
                reached.add(other)
                frontier.append(other)
    assert reached == set(range(n))


def test_bradley_terry_is_the_penalised_maximum():
    rng = random.Random(3)
    outcomes = [(i, j, rng.random()) for i, j in sampled_pairs(9, 3, rng)] + [(0, 1, 1.0), (2, 0, 0.0)]
    l2 = 0.05
    s = bradley_terry(9, outcomes, l2)
    gradient = [-l2 * x for x in s]
    for i, j, p in outcomes:
        gradient[i] += p - sigmoid(s[i] - s[j])
        gradient[j] -= p - sigmoid(s[i] - s[j])
    assert max(abs(g) for g in gradient) < 1e-9
    assert abs(sum(s)) < 1e-9


def test_bradley_terry_recovers_strengths_from_expected_outcomes():
    hidden = [0.9, -1.3, 0.2, 2.1, -0.4, 1.1, -2.0]
    outcomes = [(i, j, sigmoid(hidden[i] - hidden[j])) for i, j in sampled_pairs(7, 2, random.Random(1))]
    mean = sum(hidden) / len(hidden)
    assert bradley_terry(7, outcomes, l2=1e-9) == pytest.approx([h - mean for h in hidden], abs=1e-5)
    assert bradley_terry(7, outcomes, l2=1e-9) != pytest.approx(bradley_terry(7, outcomes, l2=1.0), abs=1e-3)


def test_win_rates_and_bradley_terry_without_games():
    assert win_rates(2, []) == [0.5, 0.5]
    assert bradley_terry(3, [(0, 1, 1.0)])[2] == 0.0


def test_sampled_bradley_terry_recovers_the_order_of_a_twelve_item_group():
    rng = random.Random(5)
    hidden = [round(0.35 * k, 2) for k in range(12)]
    rng.shuffle(hidden)
    judge = bradley_terry_judge(bias=1.0)
    completions = [f"answer {k} s={h}" for k, h in enumerate(hidden)]
    reward = GroupJudgeReward(judge, pairs_per_item=4)  # auto: 12 > round_robin_max = 8
    rewards, _ = trl_call(reward, ["q"] * 12, completions)
    shown = judge.shown()
    assert len(judge.calls) == 1 and len(shown) == 2 * 12 * 2  # 24 pairs, both orders
    assert len(shown) < 12 * 11  # fewer than a round robin
    assert all(sum(c in pair for pair in shown) >= 2 * 4 for c in completions)
    by_strength = sorted(range(12), key=lambda k: hidden[k])
    assert [rewards[k] for k in by_strength] == sorted(rewards) and len(set(rewards)) == 12
    assert all(0 < r < 1 for r in rewards)
    strengths, _ = trl_call(GroupJudgeReward(bradley_terry_judge(1.0), bt_output="strength"), ["q"] * 12, completions)
    assert sum(strengths) == pytest.approx(0.0, abs=1e-9)
    assert rewards == pytest.approx([sigmoid(s) for s in strengths], abs=1e-12)


def test_scheme_round_robin_is_kept_for_large_groups():
    judge = bradley_terry_judge()
    completions = [f"c s={k}" for k in range(10)]
    rewards, _ = trl_call(GroupJudgeReward(judge, scheme="round_robin"), ["q"] * 10, completions)
    assert len(judge.shown()) == 10 * 9
    assert sum(rewards) == pytest.approx(5.0, abs=1e-12)


def test_sampled_pairs_are_the_same_for_the_same_group_in_any_batch():
    completions = [f"c s={k}" for k in range(10)]
    alone, together = bradley_terry_judge(), bradley_terry_judge()
    trl_call(GroupJudgeReward(alone, scheme="sampled_bt", both_orders=False), ["q"] * 10, completions)
    trl_call(
        GroupJudgeReward(together, scheme="sampled_bt", both_orders=False),
        ["other"] * 3 + ["q"] * 10,
        ["o s=1", "o s=2", "o s=3"] + completions,
    )
    assert [pair for pair in together.shown() if pair[0].startswith("c")] == alone.shown()


# ---- a real GRPO run -----------------------------------------------------------------------------


class RecordingReward(GroupJudgeReward):
    """Keeps every call's prompts and rewards."""

    def __init__(self, judge):
        super().__init__(judge)
        self.seen: list[tuple[list, list[float]]] = []

    def __call__(self, prompts, completions, **kwargs):
        rewards = super().__call__(prompts, completions, **kwargs)
        self.seen.append((list(prompts), rewards))
        return rewards


def test_grpo_trainer_runs_with_the_group_reward(tmp_path, tiny_model_dir):
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
        model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
        questions = ["Name a colour.", "Name a fruit.", "Say hello.", "Count to three."]
        dataset = Dataset.from_dict({"prompt": [[{"role": "user", "content": q}] for q in questions]})
        # the scripted judge prefers the completion with more distinct characters
        judge = ScriptedJudge(lambda q, a, b: soft(sigmoid(0.5 * (len(set(a)) - len(set(b))))))
        reward = RecordingReward(judge)
        args = GRPOConfig(
            output_dir=str(tmp_path),
            use_cpu=True,
            bf16=False,
            per_device_train_batch_size=8,  # two prompts x num_generations per step
            num_generations=4,
            max_completion_length=8,
            max_steps=2,
            learning_rate=1e-3,
            beta=0.0,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            seed=0,
        )
        trainer = GRPOTrainer(
            model=model, reward_funcs=[reward], args=args, train_dataset=dataset, processing_class=tokenizer
        )
        trainer.train()
    finally:
        torch.set_num_threads(threads)

    assert len(reward.seen) == 2 and len(judge.calls) == 2  # one judge call per reward call
    for prompts, rewards in reward.seen:
        assert len(rewards) == 8
        groups = {}
        for prompt, r in zip(prompts, rewards):
            groups.setdefault(question_text(prompt), []).append(r)
        assert len(groups) == 2 and all(len(g) == 4 for g in groups.values())
        for g in groups.values():
            assert sum(g) == pytest.approx(2.0, abs=1e-6)  # round-robin win rates of 4 sum to 4 / 2
        assert any(max(g) - min(g) > 1e-6 for g in groups.values())  # rewards differ within a group
    logged = [entry for entry in trainer.state.log_history if "rewards/group_judge/mean" in entry]
    assert len(logged) == 2
    assert all(entry["rewards/group_judge/mean"] == pytest.approx(0.5, abs=1e-6) for entry in logged)
    assert any(entry["rewards/group_judge/std"] > 0 for entry in logged)
    assert any(entry["grad_norm"] > 0 for entry in logged)  # the advantages moved the policy
