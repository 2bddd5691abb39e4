"""The SFT loss: a shared prompt prefix gives the same loss and gradients, a forward-only prompt the same loss;
decision tokens can weigh more."""

from __future__ import annotations

import types

import pytest
import torch
import torch.nn.functional as F

from gram_rr.models import resolve_model
from gram_rr.training.trainer import (
    CompletionSFTTrainer,
    decision_token_ids,
    label_positions,
    letter_token_ids,
    shared_prefix_length,
)


def _batch(tokenizer, prompts: list[str], completions: list[str]):
    """Right-padded ids, mask and completion-only labels, as TRL's collator builds them."""
    rows = []
    for prompt, completion in zip(prompts, completions):
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        c = tokenizer(completion, add_special_tokens=False)["input_ids"]
        rows.append((p + c, len(p)))
    width = max(len(ids) for ids, _ in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (row, n) in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        labels[i, n : len(row)] = torch.tensor(row[n:])
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


INSTRUCTION = "Judge the two responses below and say which one is better. " * 3
COMPLETIONS = [" Response A is right. <answer>A</answer>", " B. <answer>B</answer>", " Response B is better, A slips."]


def _loss_and_grads(model, inputs, keep, share: bool, prompt_gradient: bool):
    """The completion loss of one ``_forward`` and every parameter's gradient, by name."""
    model.zero_grad()
    host = types.SimpleNamespace(share_prompt_prefix=share, prompt_gradient=prompt_gradient)
    out = CompletionSFTTrainer._forward(host, model, inputs, keep)
    loss = F.cross_entropy(out.logits.flatten(0, 1), inputs["labels"][:, keep + 1].flatten(), ignore_index=-100)
    loss.backward()
    return loss.item(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def test_shared_prefix_length():
    ids = torch.tensor([[1, 2, 3, 4, 5], [1, 2, 3, 9, 9], [1, 2, 3, 4, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    assert shared_prefix_length(ids, mask, limit=10) == 3
    assert shared_prefix_length(ids, mask, limit=2) == 2
    assert shared_prefix_length(ids[:1], mask[:1], limit=10) == 0  # one row: nothing to share
    # Padding is never shared, even where the padded ids agree.
    assert shared_prefix_length(torch.tensor([[1, 0], [1, 0]]), torch.tensor([[1, 0], [1, 0]]), limit=10) == 1


@pytest.mark.parametrize("lora", [False, True])
def test_shared_prefix_gives_the_loss_and_gradients_of_the_plain_forward(tiny_model_dir, lora):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    prompts = [INSTRUCTION + "Question: 2 + 2?", INSTRUCTION + "Question: what is 7 x 8, please?", INSTRUCTION + "Q: 1?"]
    inputs = _batch(tokenizer, prompts, COMPLETIONS)
    keep = label_positions(inputs["labels"])
    assert shared_prefix_length(inputs["input_ids"], inputs["attention_mask"], int(keep[0])) > 10

    plain_loss, plain_grads = _loss_and_grads(model, inputs, keep, share=False, prompt_gradient=True)
    shared_loss, shared_grads = _loss_and_grads(model, inputs, keep, share=True, prompt_gradient=True)
    assert shared_loss == pytest.approx(plain_loss, rel=1e-5)
    assert shared_grads.keys() == plain_grads.keys() and plain_grads
    for name, grad in shared_grads.items():
        torch.testing.assert_close(grad, plain_grads[name], rtol=1e-4, atol=1e-6)


def test_letter_tokens_and_decision_weights(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    letters = letter_token_ids(tokenizer)
    for text in ("A", "B"):
        (token,) = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert token in letters
    assert all(tokenizer.decode([t]).strip() in ("A", "B") for t in letters)
    host = types.SimpleNamespace(decision_token_weight=4.0, _letter_ids=torch.tensor(letters))
    a = tokenizer("A", add_special_tokens=False)["input_ids"][0]
    other = tokenizer("the", add_special_tokens=False)["input_ids"][0]
    targets = torch.tensor([[other, a, -100]])
    weights = CompletionSFTTrainer._token_weights(host, targets, targets != -100)
    assert weights.tolist() == [[1.0, 4.0, 0.0]]


def test_decision_tokens_are_letters_and_whole_verdict_words():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("smollm2-135m-instruct"))
    decision = set(decision_token_ids(tokenizer))
    assert set(letter_token_ids(tokenizer)) <= decision
    for word in (" correct", " wrong", " better", " Correct"):
        (token,) = tokenizer(word, add_special_tokens=False)["input_ids"]
        assert token in decision, word
    for word in (" the", " response", " corrected", " Answer"):
        assert not set(tokenizer(word, add_special_tokens=False)["input_ids"]) & decision, word
    assert {tokenizer.convert_tokens_to_string([t]).strip().casefold() for t in tokenizer.convert_ids_to_tokens(sorted(decision))} <= {
        "a", "b", "better", "best", "correct", "right", "preferred", "worse", "worst", "wrong", "incorrect"}


def test_prompt_without_gradient_keeps_the_loss_and_trains_through_the_completion_only(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    torch.manual_seed(0)
    # Untied, so an input embedding's gradient comes from the input side only.
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32, tie_word_embeddings=False)
    prompts = [INSTRUCTION + "Question: 2 + 2? Reply: four", INSTRUCTION + "Question: 7 x 8 please? Reply: fifty-six",
               INSTRUCTION + "Q: 1?"]
    inputs = _batch(tokenizer, prompts, COMPLETIONS)
    keep = label_positions(inputs["labels"])
    start = int(keep[0])
    prompt_only = set(inputs["input_ids"][:, :start].flatten().tolist()) - set(inputs["input_ids"][:, start:].flatten().tolist())
    assert len(prompt_only) > 5
    prompt_rows = sorted(prompt_only)

    full_loss, full_grads = _loss_and_grads(model, inputs, keep, share=False, prompt_gradient=True)
    assert full_grads["model.embed_tokens.weight"][prompt_rows].abs().max() > 0
    unshared = None
    for share in (False, True):
        loss, grads = _loss_and_grads(model, inputs, keep, share=share, prompt_gradient=False)
        assert loss == pytest.approx(full_loss, rel=1e-5)  # forward-only prompt: the same loss
        assert grads["model.embed_tokens.weight"][prompt_rows].abs().max() == 0  # no gradient reaches prompt-only tokens
        assert grads.keys() == full_grads.keys()
        for name, grad in grads.items():  # every weight still learns, through the completion tokens
            assert grad.abs().max() > 0, name
        assert not torch.allclose(grads["model.layers.0.self_attn.k_proj.weight"],
                                  full_grads["model.layers.0.self_attn.k_proj.weight"])
        if unshared is not None:  # sharing the prefix changes nothing here either
            for name, grad in grads.items():
                torch.testing.assert_close(grad, unshared[name], rtol=1e-4, atol=1e-6)
        unshared = grads
