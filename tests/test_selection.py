"""Every judge kind selects through the one gram_rr.selection.select_many: a reward reasoner, a scalar
reward model and a preference tree that prefer the same responses make the same comparisons, shown
the same way round, and a judge that always answers "A" is not biased towards any candidate."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gram_rr.analyze import TreeScorer
from gram_rr.analyze.features import FeatureSpec
from gram_rr.analyze.tree_model import LEAF, StoredTree
from gram_rr.judge import RewardReasoner
from gram_rr.scalar import RewardModelScorer
from gram_rr.selection import Comparison, Selection, select_many
from gram_rr.verdict import Verdict
from test_judge_unit import FakeEngine, prefers_longer, says

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
WORD_COUNTS = [[2, 7, 4, 1, 6], [3, 1], [5], [1, 8, 2, 6, 3, 7, 4, 5], [9, 2, 6]]
QUESTIONS = [f"which answer is good {k}" for k in range(len(WORD_COUNTS))]
CANDIDATE_LISTS = [[" ".join(["good"] * n) for n in counts] for counts in WORD_COUNTS]


class LengthReward:
    """A one-output sequence classifier whose reward is the number of tokens it reads."""

    def __init__(self):
        import torch

        self.config = SimpleNamespace(num_labels=1, pad_token_id=None)
        self.device = torch.device("cpu")
        self.forward_rows = 0

    def eval(self) -> "LengthReward":
        return self

    def __call__(self, input_ids, attention_mask):
        self.forward_rows += len(input_ids)
        return SimpleNamespace(logits=attention_mask.sum(-1, keepdim=True).float())


def word_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "<|user|>", "<|assistant|>", "<|end|>"]
    core = Tokenizer(models.WordLevel({tok: i for i, tok in enumerate(specials + ["good"])}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]", eos_token="<|end|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tree(first_wins_when_longer: bool) -> StoredTree:
    """A hand-built tree: one split on chars_diff (the first shown is longer: P(first) 0.9, else 0.1),
    or one leaf saying the first shown is better (P(first) 0.9) whatever it reads."""
    spec = FeatureSpec(("length",))
    if not first_wins_when_longer:
        return StoredTree("gold", spec, [0, 1], [LEAF], [0.0], [LEAF], [LEAF], [[0.1, 0.9]], [2])
    return StoredTree(
        "gold", spec, [0, 1], feature=[0, LEAF, LEAF], threshold=[0.0, 0.0, 0.0], left=[1, LEAF, LEAF],
        right=[2, LEAF, LEAF], value=[[0.5, 0.5], [0.9, 0.1], [0.1, 0.9]], samples=[2, 1, 1],
    )


class MoreWords:
    """The reference judge: the response with more words wins."""

    def compare_many(self, pairs, votes=None, both_orders=None):
        return [Verdict(winner="A" if len(a.split()) > len(b.split()) else "B", confidence=1.0) for _, a, b in pairs]


def judges() -> dict[str, object]:
    return {
        "reasoner": RewardReasoner(FakeEngine(prefers_longer)),
        "scalar": RewardModelScorer(LengthReward(), word_tokenizer()),
        "tree": TreeScorer(tree(first_wins_when_longer=True)),
    }


@pytest.mark.parametrize("mode", ["best", "rank"])
def test_every_judge_kind_makes_the_shared_functions_comparisons(mode):
    reference = select_many(MoreWords(), QUESTIONS, CANDIDATE_LISTS, mode)
    truth = [sorted(range(len(counts)), key=lambda i: -counts[i]) for counts in WORD_COUNTS]
    assert [s.best for s in reference] == [order[0] for order in truth]
    assert [s.ranking for s in reference] == (truth if mode == "rank" else [None] * len(truth))
    shown = [[(c.i, c.j) for c in s.comparisons] for s in reference]
    assert 0.2 < sum(i < j for pairs in shown for i, j in pairs) / sum(map(len, shown)) < 0.8  # random orientation
    for kind, judge in judges().items():
        selections = judge.select_many(QUESTIONS, CANDIDATE_LISTS, mode=mode)
        assert all(type(s) is Selection and all(type(c) is Comparison for c in s.comparisons) for s in selections)
        assert [(s.best, s.ranking) for s in selections] == [(s.best, s.ranking) for s in reference], kind
        assert [[(c.i, c.j) for c in s.comparisons] for s in selections] == shown, kind
        assert all(
            c.verdict.winner == ("A" if counts[c.i] > counts[c.j] else "B")
            for s, counts in zip(selections, WORD_COUNTS) for c in s.comparisons
        ), kind
        assert judge.rank(QUESTIONS[0], CANDIDATE_LISTS[0]) == truth[0], kind
        assert judge.best_of_n(QUESTIONS[3], CANDIDATE_LISTS[3]) == truth[3][0], kind


def test_the_scalar_scorer_scores_every_candidate_once_in_one_call():
    model = LengthReward()
    scorer = RewardModelScorer(model, word_tokenizer())
    calls = []
    score_many = scorer.score_many
    scorer.score_many = lambda items: calls.append(list(items)) or score_many(items)
    selections = scorer.select_many(QUESTIONS, CANDIDATE_LISTS, mode="rank")
    assert len(calls) == 1 and len(calls[0]) == sum(map(len, CANDIDATE_LISTS))
    assert model.forward_rows == sum(map(len, CANDIDATE_LISTS))  # distinct texts: one row each
    assert all("reward A" in c.verdict.votes[0].rationale for s in selections for c in s.comparisons)


def test_an_always_a_judge_does_not_pick_the_first_candidate_of_any_kind():
    # Worst first: a judge shown candidates in index order that always answers "A" would pick
    # candidate 0, the worst; shown orders at random, its picks spread over every index.
    n, count = 4, 200
    questions = [f"question {t}" for t in range(count)]
    candidate_lists = [[" ".join(["good"] * (i + 1)) for i in range(n)] for _ in range(count)]
    always_a = {
        "reasoner": RewardReasoner(FakeEngine(lambda a, b, s: says("A"))),
        "tree": TreeScorer(tree(first_wins_when_longer=False), both_orders=False),
    }
    for kind, judge in always_a.items():
        selections = judge.select_many(questions, candidate_lists, mode="best")
        assert all(c.verdict.winner == "A" for s in selections for c in s.comparisons), kind
        best = [s.best for s in selections]
        assert all(0.5 * count / n <= best.count(i) <= 1.5 * count / n for i in range(n)), (kind, best)
