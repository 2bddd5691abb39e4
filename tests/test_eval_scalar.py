"""RewardModelScorer on a tiny sequence classifier and tokenizer built in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from gram_rr.data.records import PreferencePair
from gram_rr.eval import rmbench, workloads
from gram_rr.eval.runner import judge_pairs
from gram_rr.scalar import RewardModelScorer, ScorerConfig

WORDS = "the a cat dog sat on mat is good bad answer question why because yes no paris london capital of france".split()
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


@pytest.fixture(scope="module")
def tiny_rm_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer LlamaForSequenceClassification (one output) with a word-level tokenizer."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForSequenceClassification, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "<|user|>", "<|assistant|>", "<|end|>"]
    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]", eos_token="<|end|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, num_labels=1, pad_token_id=0,
    )
    model = LlamaForSequenceClassification(config)
    path = tmp_path_factory.mktemp("tiny-rm")
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    assert (Path(path) / "model.safetensors").is_file()
    return str(path)


@pytest.fixture(scope="module")
def scorer(tiny_rm_dir: str) -> RewardModelScorer:
    return RewardModelScorer.from_pretrained(tiny_rm_dir, dtype="float32", device="cpu")


RESPONSES = ["paris", "london is the capital of france", "the cat sat on the mat", "no", "yes because the dog is good"]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_score_does_not_depend_on_what_else_is_scored(tiny_rm_dir: str, dtype: str):
    """Exactly equal, not close: a metric's ties (the same text as chosen and rejected) must stay ties."""
    scorer = RewardModelScorer.from_pretrained(tiny_rm_dir, dtype=dtype, device="cpu")
    question = "why is the dog good"
    alone = [scorer.score(question, [r])[0] for r in RESPONSES]
    assert scorer.score(question, RESPONSES) == alone
    assert scorer.score(question, RESPONSES[::-1]) == alone[::-1]
    assert scorer.score(question, RESPONSES[2:] + ["the dog"]) == alone[2:] + scorer.score(question, ["the dog"])


def test_padded_batches_score_close_to_one_at_a_time(scorer: RewardModelScorer):
    batching = RewardModelScorer(scorer.model, scorer.tokenizer, ScorerConfig(batch_size=3))
    question = "what is the capital of france"
    batched = batching.score(question, RESPONSES)
    single = [scorer.score(question, [r])[0] for r in RESPONSES]
    assert batched == pytest.approx(single, abs=1e-5)
    assert len(set(round(s, 6) for s in batched)) == len(RESPONSES)  # a random head still separates them
    # the chat template is applied: the question changes the score
    assert scorer.score("why", ["paris"])[0] != pytest.approx(batched[0], abs=1e-6)


def test_compare_rank_and_best_of_n_follow_the_scores(scorer: RewardModelScorer):
    question = "what is the capital of france"
    scores = scorer.score(question, RESPONSES)
    order = sorted(range(len(RESPONSES)), key=lambda i: -scores[i])
    assert scorer.rank(question, RESPONSES) == order
    assert scorer.best_of_n(question, RESPONSES) == order[0]
    verdicts = scorer.compare_many([(question, RESPONSES[0], RESPONSES[1]), (question, RESPONSES[1], RESPONSES[0])])
    expected = "A" if scores[0] > scores[1] else "B"
    assert verdicts[0].winner == expected and verdicts[1].winner == {"A": "B", "B": "A"}[expected]
    assert "reward A" in verdicts[0].votes[0].rationale
    tie = scorer.compare_many([(question, "no", "no")])[0]
    assert tie.winner is None and tie.votes[0].answer is None


def test_scalar_rmbench_through_pairs_equals_official_score_matrix(scorer: RewardModelScorer, tmp_path: Path):
    import json

    rows = [
        {"id": k, "prompt": q, "chosen": RESPONSES[:3], "rejected": RESPONSES[2:]}
        for k, q in enumerate(["why is the dog good", "what is the capital of france"])
    ]
    path = tmp_path / "chat_filtered.json"
    path.write_text(json.dumps(rows))
    pairs = workloads.load_workload("rmbench", [path])
    verdicts = judge_pairs(scorer, pairs, batch_size=9)
    via_pairs = workloads.report("rmbench", pairs, verdicts, tie_credit=0.0)["metrics"]
    matrices = [
        rmbench.score_matrix(scorer.score(r["prompt"], r["chosen"]), scorer.score(r["prompt"], r["rejected"]))
        for r in rows
    ]
    official = rmbench.rmbench_metrics(["chat", "chat"], matrices)
    assert via_pairs["domains"] == official["domains"]
    # chosen[2] and rejected[0] are the same text: a score tie, wrong under strict ">"
    assert all(not m[2][0] for m in matrices)


def test_scorer_accepts_preference_pairs_and_conversations(scorer: RewardModelScorer):
    conversation = [{"role": "user", "content": "why"}, {"role": "assistant", "content": "because"},
                    {"role": "user", "content": "is the dog good"}]
    pair = PreferencePair("c", "ignored", "yes", "no", label="A", conversation=conversation)
    verdict = scorer.compare_many([pair])[0]
    reward_yes, reward_no = scorer.score(conversation, ["yes", "no"])
    assert verdict.winner == ("A" if reward_yes > reward_no else "B")


def test_scorer_reads_a_pairs_conversation_as_messages(scorer: RewardModelScorer, monkeypatch: pytest.MonkeyPatch):
    """A multi-turn pair reaches the reward model as its turns, a text question as one user turn."""
    from gram_rr.protocols import PairJudge

    templated = []
    apply_chat_template = scorer.tokenizer.apply_chat_template

    def recording(messages, **kwargs):
        templated.append(messages)
        return apply_chat_template(messages, **kwargs)

    monkeypatch.setattr(scorer.tokenizer, "apply_chat_template", recording)
    conversation = [{"role": "user", "content": "why"}, {"role": "assistant", "content": "because"},
                    {"role": "user", "content": "is the cat good"}]
    scorer.compare_many([PreferencePair("t", "is the cat good", "yes", "no", conversation=conversation),
                         ("why paris", "yes", "no")])
    assert templated == [
        question + [{"role": "assistant", "content": response}]
        for question in (conversation, [{"role": "user", "content": "why paris"}])
        for response in ("yes", "no")
    ]
    assert isinstance(scorer, PairJudge)


def test_scorer_rejects_multi_label_classifier(tiny_rm_dir: str):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, num_labels=2, pad_token_id=0)
    model = LlamaForSequenceClassification(config)
    with pytest.raises(ValueError, match="num_labels=2"):
        RewardModelScorer(model, AutoTokenizer.from_pretrained(tiny_rm_dir))


def test_cli_scalar_scorer_on_rmbench_file(tiny_rm_dir: str, scorer: RewardModelScorer, tmp_path: Path):
    import json

    from gram_rr.eval.cli import main

    rows = [{"id": 0, "prompt": "why is the dog good", "domain": "safety-response",
             "chosen": RESPONSES[:3], "rejected": RESPONSES[1:4]}]
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    out = tmp_path / "out"
    argv = ["--benchmark", "rmbench", "--scorer", "scalar", "--model", tiny_rm_dir, "--data", str(path),
            "--out", str(out), "scorer.dtype=float32", "scorer.device=cpu"]
    assert main(argv) == 0
    result = json.loads((out / "results.json").read_text())
    row = rows[0]
    chosen, rejected = scorer.score(row["prompt"], row["chosen"]), scorer.score(row["prompt"], row["rejected"])
    matrix = rmbench.score_matrix(chosen, rejected)
    assert result["summary"]["safety"] == pytest.approx(rmbench.accuracy([matrix])["avg"])
    assert result["run"]["scorer"] == "scalar"
