"""How fast does full fine-tuning teach the default model to judge a demo task set?

    python scripts/learning_curve.py --tasks instructions --n-train 480 --checks 96,192,288,384

A plain PyTorch loop (AdamW, linear warm-up and decay, batch 8, bf16 autocast, the shared judge
instruction run once per batch) fine-tunes SmolLM2-135M on demo pairs from the seed and labeled
splits, each shown in both A/B orders with the demo proof as the completion. At each checkpoint
it reads, teacher-forced on the held-out test split in both orders, the model's first decision
about Response A (" correct" vs " wrong" after "Response A is"): per-order accuracy of that
decision, the share of pairs judged the same in both orders, the order-pooled accuracy
(A-first log-odds minus the swapped order's) and the AUC of the log-odds. One JSON line per
checkpoint on stdout. A diagnostic for choosing sizes and task sets, not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, AutoTokenizer

from gram_rr.data.demo import draw_problems, proof
from gram_rr.data.demo_sets import TASK_SETS
from gram_rr.models import resolve_model
from gram_rr.parsing import format_judgment
from gram_rr.prompts import judge_messages

DECISION_PREFIX = "<think>\nFeedback:\nResponse A is"


def rendered(tokenizer, problem, label: str) -> tuple[str, str]:
    a, b = (problem.correct, problem.wrong) if label == "A" else (problem.wrong, problem.correct)
    prompt = tokenizer.apply_chat_template(judge_messages(problem.question, a, b), tokenize=False, add_generation_prompt=True)
    return prompt, format_judgment(proof(problem, label), label) + tokenizer.eos_token


def auc(gold: list[int], scores: list[float]) -> float:
    pos = [s for g, s in zip(gold, scores) if g]
    neg = [s for g, s in zip(gold, scores) if not g]
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


@torch.no_grad()
def first_decisions(model, tokenizer, prompts: list[str]) -> list[float]:
    """log P(" correct") - log P(" wrong") for Response A, per prompt (left-padded batches of 16)."""
    yes = tokenizer(" correct", add_special_tokens=False)["input_ids"][0]
    no = tokenizer(" wrong", add_special_tokens=False)["input_ids"][0]
    scores = []
    for i in range(0, len(prompts), 16):
        seqs = [tokenizer(p + DECISION_PREFIX, add_special_tokens=False)["input_ids"] for p in prompts[i:i + 16]]
        width = max(map(len, seqs))
        ids = torch.full((len(seqs), width), tokenizer.pad_token_id)
        mask = torch.zeros_like(ids)
        for j, seq in enumerate(seqs):
            ids[j, width - len(seq):], mask[j, width - len(seq):] = torch.tensor(seq), 1
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                           logits_to_keep=1).logits[:, -1].float().log_softmax(-1)
        scores += (logits[:, yes] - logits[:, no]).tolist()
    return scores


def measure(model, tokenizer, tests: list[tuple[str, str]]) -> dict:
    model.eval()
    scores = first_decisions(model, tokenizer, [prompt for prompt, _ in tests])
    model.train()
    gold = [int(label == "A") for _, label in tests]
    says_a = [s > 0 for s in scores]
    pairs = len(tests) // 2  # tests alternate: correct response at A, then the same pair swapped
    return {
        "per_order_accuracy": round(sum(s == bool(g) for s, g in zip(says_a, gold)) / len(tests), 3),
        "same_both_orders": round(sum(says_a[2 * i] != says_a[2 * i + 1] for i in range(pairs)) / pairs, 3),
        "pooled_accuracy": round(sum(scores[2 * i] > scores[2 * i + 1] for i in range(pairs)) / pairs, 3),
        "auc": round(auc(gold, scores), 3),
        "says_a_correct": sum(says_a),
        "judgments": len(tests),
    }


def batch_loss(model, tokenizer, rows: list[tuple[str, str]]) -> torch.Tensor:
    prompts = [tokenizer(p, add_special_tokens=False)["input_ids"] for p, _ in rows]
    completions = [tokenizer(c, add_special_tokens=False)["input_ids"] for _, c in rows]
    width = max(len(p) + len(c) for p, c in zip(prompts, completions))
    ids = torch.full((len(rows), width), tokenizer.pad_token_id)
    labels, mask = torch.full_like(ids, -100), torch.zeros_like(ids)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        ids[i, :len(p) + len(c)], mask[i, :len(p) + len(c)] = torch.tensor(p + c), 1
        labels[i, len(p):len(p) + len(c)] = torch.tensor(c)
    shared = 0
    while shared < min(map(len, prompts)) and all(p[shared] == prompts[0][shared] for p in prompts):
        shared += 1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cache = model(input_ids=ids[:1, :shared], use_cache=True).past_key_values
        cache.batch_repeat_interleave(len(rows))
        out = model(input_ids=ids[:, shared:], attention_mask=mask, past_key_values=cache, use_cache=True,
                    position_ids=torch.arange(shared, width).expand(len(rows), -1))
    logits = out.logits[:, :-1].float()
    return F.cross_entropy(logits.flatten(0, 1), labels[:, shared + 1:].flatten(), ignore_index=-100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="instructions", choices=sorted(TASK_SETS))
    parser.add_argument("--n-train", type=int, default=480, help="training examples (pairs x 2 orders)")
    parser.add_argument("--n-test", type=int, default=36, help="held-out pairs, judged in both orders")
    parser.add_argument("--checks", default="96,192,288,384", help="measure after this many examples (and at the end)")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--paired", action="store_true", help="each pair's two orders in the same batch")
    args = parser.parse_args()
    torch.manual_seed(0)
    path = resolve_model("smollm2-135m-instruct")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    rng = random.Random(1)
    problems = draw_problems("seed", args.n_train // 4, rng, args.tasks) + draw_problems("labeled", args.n_train // 4, rng, args.tasks)
    if args.paired:  # shuffle pairs, keep each pair's two orders next to each other (batch size even)
        random.Random(2).shuffle(problems)
        rows = [rendered(tokenizer, p, label) for p in problems for label in "AB"]
    else:
        rows = [rendered(tokenizer, p, label) for p in problems for label in "AB"]
        random.Random(2).shuffle(rows)
    tests = [(rendered(tokenizer, p, label)[0], label) for p in draw_problems("test", args.n_test, random.Random(3), args.tasks)
             for label in "AB"]
    checks = {int(c) for c in args.checks.split(",")}
    steps = len(rows) // args.batch_size
    warmup = max(1, steps // 10)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    start = time.time()
    model.train()
    for step in range(steps):
        loss = batch_loss(model, tokenizer, rows[step * args.batch_size:(step + 1) * args.batch_size])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step(), schedule.step(), optimizer.zero_grad()
        seen = (step + 1) * args.batch_size
        if seen in checks or step == steps - 1:
            row = {"tasks": args.tasks, "lr": args.lr, "examples": seen, "loss": round(loss.item(), 4),
                   "train_seconds": round(time.time() - start), **measure(model, tokenizer, tests)}
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
