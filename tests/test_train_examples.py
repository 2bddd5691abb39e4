"""SFT examples: prompt/completion format per role, and the completion-only loss mask."""

from __future__ import annotations

import pytest

from gram_rr.data.records import PreferencePair
from gram_rr.parsing import format_judgment, parse_judgment
from gram_rr.prompts import judge_messages, prover_messages
from gram_rr.train import TrainConfig, sft_examples

PAIR = PreferencePair(
    id="p1",
    question="What is 7 * 6?",
    response_a="7 * 6 = 42",
    response_b="7 * 6 = 48",
    label="A",
    rationale="Feedback:\nA is right, B miscomputes.\n\nConclusion:\nResponse A is better.",
)


def test_reasoner_example_is_judge_prompt_and_formatted_rationale():
    row = sft_examples([PAIR], "reasoner")[0]
    assert row["prompt"] == judge_messages(PAIR.question, PAIR.response_a, PAIR.response_b)
    assert row["completion"] == [{"role": "assistant", "content": format_judgment(PAIR.rationale, "A")}]
    assert parse_judgment(row["completion"][0]["content"]).answer == "A"


def test_prover_example_carries_the_label_in_the_prompt():
    row = sft_examples([PAIR.swapped()], "prover")[0]
    assert row["prompt"] == prover_messages(PAIR.question, PAIR.response_b, PAIR.response_a, "B")
    assert parse_judgment(row["completion"][0]["content"]).answer == "B"


def test_rationale_already_in_think_format_is_kept_and_checked():
    formatted = format_judgment("B is better because it is right.", "B")
    pair = PreferencePair(id="q", question="q", response_a="a", response_b="b", label="B", rationale=formatted)
    assert sft_examples([pair], "reasoner")[0]["completion"][0]["content"] == formatted
    wrong = PreferencePair(id="w", question="q", response_a="a", response_b="b", label="A", rationale=formatted)
    with pytest.raises(ValueError, match="concludes B but its label is A"):
        sft_examples([wrong], "reasoner")


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (PreferencePair(id="u", question="q", response_a="a", response_b="b", rationale="r"), "no label"),
        (PreferencePair(id="n", question="q", response_a="a", response_b="b", label="A"), "no rationale"),
    ],
)
def test_unusable_pairs_are_named(pair, message):
    with pytest.raises(ValueError, match=f"'{pair.id}' has {message}"):
        sft_examples([pair], "prover")


def test_unknown_role_is_rejected():
    with pytest.raises(ValueError, match="role must be one of"):
        sft_examples([PAIR], "critic")


def test_loss_mask_covers_exactly_the_completion(tiny_model_dir, tmp_path):
    """Tokenized by our SFTTrainer setup, only the assistant completion (and its end of turn) is trained."""
    from gram_rr.training.sft import build_trainer

    config = TrainConfig(model=tiny_model_dir, report_to=["none"], max_steps=1)
    trainer = build_trainer(config, sft_examples([PAIR], "reasoner"), tmp_path)
    tokenizer = trainer.processing_class
    batch = trainer.data_collator([trainer.train_dataset[0]])
    labels = batch["labels"][0]
    trained = labels[labels != -100]
    assert 0 < len(trained) < len(labels)
    first = int((labels != -100).nonzero()[0])
    assert (labels[first:] != -100).all(), "the trained tokens form one suffix"
    text = tokenizer.decode(trained)
    assert text.startswith("<think>") and format_judgment(PAIR.rationale, "A") in text
    assert text.rstrip().endswith("<|im_end|>"), "the end-of-turn token is trained so the model learns to stop"
    prompt_text = tokenizer.decode(batch["input_ids"][0][:first])
    assert "[The Start of Assistant A's Response]" in prompt_text and "<think>\nFeedback" not in prompt_text


@pytest.mark.parametrize("packing", [False, True])
def test_loss_equals_the_models_own_completion_loss(tiny_model_dir, tmp_path, packing):
    """The trainer's loss (LM head on the label range only) is the model's full-logits cross-entropy."""
    import torch

    from gram_rr.training.sft import build_trainer
    from gram_rr.training.trainer import label_positions

    pairs = [PAIR, PAIR.swapped()]
    config = TrainConfig(model=tiny_model_dir, report_to=["none"], max_steps=1, bf16=False, packing=packing)
    trainer = build_trainer(config, sft_examples(pairs, "reasoner"), tmp_path)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    model = trainer.model.eval()
    with torch.no_grad():
        ours = trainer.compute_loss(model, dict(batch))
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = model(**inputs, use_cache=False).logits
        expected = torch.nn.functional.cross_entropy(
            logits[:, :-1].flatten(0, 1).float(), batch["labels"][:, 1:].flatten(), ignore_index=-100
        )
    assert torch.allclose(ours, expected, rtol=1e-5, atol=1e-6)
    keep = label_positions(batch["labels"])
    if not packing:
        assert len(keep) < batch["labels"].shape[1], "prompt positions skip the LM head"


def test_a_pair_and_its_swap_share_a_group_and_a_batch():
    from dataclasses import replace

    from gram_rr.data.swap import augment_with_swaps
    from gram_rr.training.trainer import PairedShuffleSampler

    pairs = [replace(PAIR, id=f"p{i}", rationale="Feedback:\nResponse A is right.\n\nConclusion:\nResponse A is better.")
             for i in range(12)]
    pairs.append(replace(PAIR, id="plain", rationale="It computes the product correctly."))  # no position named
    examples, _ = augment_with_swaps(pairs, "both")
    groups = list(sft_examples(examples, "reasoner")["pair"])
    assert groups == [p.id for p in pairs for _ in range(2)]
    sampler = PairedShuffleSampler(groups, seed=3)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(len(groups))) and first != second  # a permutation, new every epoch
    for order in (first, second):
        for batch in range(0, len(order), 8):  # batches of 8 hold whole pairs: both orders of each
            members = [groups[i] for i in order[batch:batch + 8]]
            assert all(members.count(g) == 2 for g in members)
            assert sum(examples[i].label == "A" for i in order[batch:batch + 8]) * 2 == len(members)
    assert list(PairedShuffleSampler(groups, seed=3)) == first  # seeded


@pytest.mark.parametrize("paired", [True, False])
def test_the_trainer_batches_a_pair_with_its_swap(tiny_model_dir, tmp_path, paired):
    from dataclasses import replace

    from gram_rr.data.swap import augment_with_swaps
    from gram_rr.training.sft import build_trainer

    pairs = [replace(PAIR, id=f"p{i}", rationale="Feedback:\nResponse A is right.\n\nConclusion:\nResponse A is better.")
             for i in range(16)]
    examples, _ = augment_with_swaps(pairs, "both")
    config = TrainConfig(model=tiny_model_dir, report_to=["none"], max_steps=1, bf16=False, batch_size=4,
                         paired_orders=paired)
    trainer = build_trainer(config, sft_examples(examples, "reasoner"), tmp_path)
    order = list(trainer._get_train_sampler())
    whole_pairs = all(order[i] // 2 == order[i + 1] // 2 for i in range(0, len(order), 2))
    assert sorted(order) == list(range(32)) and whole_pairs == paired
