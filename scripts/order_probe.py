"""Which A/B-swapped training data teaches the default model to judge? (a diagnostic, not a test)

    python scripts/order_probe.py --trainer trl --data a-first     # both orders, each proof written A-first
    python scripts/order_probe.py --trainer trl --data rewritten   # one order, its swap rewritten (B-first)
    python scripts/order_probe.py --trainer plain --data a-first   # the same rows through learning_curve's loop
    python scripts/order_probe.py --trainer trl --data seed        # data/demo/seed.jsonl with rewritten swaps

Fine-tunes SmolLM2-135M fully (lr 1e-4, linear schedule, batch 8, a pair's two orders in one batch)
on n demo examples (n/2 pairs of the "instructions" task set, both orders) with gram-rr's
CompletionSFTTrainer (``trl``) or scripts/learning_curve.py's plain loop (``plain``), then prints one
JSON line: learning_curve's teacher-forced first-decision measures on its 36 held-out pairs in both
orders. ``a-first`` and ``rewritten`` use the same pairs and differ only in how the swapped order's
rationale is made: the demo proof for that order (discusses Response A first) or gram-rr's exact
rewrite of the other order's (discusses Response B first).
"""
import argparse, json, random, sys, time, tempfile
sys.path.insert(0, "scripts")
import torch
import learning_curve as lc
from transformers import AutoModelForCausalLM, AutoTokenizer
from gram_rr.data.demo import draw_problems, proof
from gram_rr.data.swap import swap_pair
from gram_rr.models import resolve_model
from gram_rr.parsing import format_judgment
from gram_rr.prompts import judge_messages

ap = argparse.ArgumentParser()
ap.add_argument("--trainer", default="trl", choices=["trl", "plain"])
ap.add_argument("--data", default="a-first", choices=["a-first", "rewritten", "seed"])
ap.add_argument("--n", type=int, default=384)
ap.add_argument("--dtw", type=float, default=1.0)
ap.add_argument("--share", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
path = resolve_model("smollm2-135m-instruct")
tok = AutoTokenizer.from_pretrained(path)

# (question, a, b, label, rationale_text, group)
items = []
if args.data in ("a-first", "rewritten"):  # learning_curve's training problems, in its --paired order
    rng = random.Random(1)
    problems = draw_problems("seed", args.n // 4, rng, "instructions") + draw_problems("labeled", args.n // 4, rng, "instructions")
    random.Random(2).shuffle(problems)
if args.data == "a-first":
    for i, p in enumerate(problems):
        for label in "AB":
            a, b = (p.correct, p.wrong) if label == "A" else (p.wrong, p.correct)
            items.append((p.question, a, b, label, proof(p, label), f"p{i}"))
elif args.data == "rewritten":  # probe problems, one random order each, the other order made by gram-rr's swap
    from gram_rr.data.records import PreferencePair
    coin = random.Random(4)
    for i, p in enumerate(problems):
        label = coin.choice("AB")
        a, b = (p.correct, p.wrong) if label == "A" else (p.wrong, p.correct)
        pair = PreferencePair(id=f"p{i}", question=p.question, response_a=a, response_b=b, label=label, rationale=proof(p, label))
        for q in (pair, swap_pair(pair)):
            items.append((q.question, q.response_a, q.response_b, q.label, q.rationale, f"p{i}"))
else:  # seed.jsonl's first n/2 pairs with gram-rr's own A/B swap
    from gram_rr.data.readers import load_pairs
    pairs = load_pairs("data/demo/seed.jsonl")[: args.n // 2]
    for p in pairs:
        for q in (p, swap_pair(p)):
            items.append((q.question, q.response_a, q.response_b, q.label, q.rationale, p.id))

tests = [(lc.rendered(tok, p, label)[0], label) for p in draw_problems("test", 36, random.Random(3), "instructions") for label in "AB"]
start = time.time()
if args.trainer == "plain":
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    rows = [(tok.apply_chat_template(judge_messages(q, a, b), tokenize=False, add_generation_prompt=True),
             format_judgment(r, l) + tok.eos_token) for q, a, b, l, r, g in items]
    steps = len(rows) // 8; warmup = max(1, steps // 10)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    sch = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    model.train()
    for step in range(steps):
        loss = lc.batch_loss(model, tok, rows[step * 8:(step + 1) * 8]); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); sch.step(); opt.zero_grad()
else:
    from datasets import Dataset
    from gram_rr.training.config import TrainConfig
    from gram_rr.training.sft import build_trainer
    ds = Dataset.from_list([{"prompt": judge_messages(q, a, b),
                             "completion": [{"role": "assistant", "content": format_judgment(r, l)}], "pair": g}
                            for q, a, b, l, r, g in items])
    cfg = TrainConfig(learning_rate=1e-4, warmup_ratio=0.1, lr_scheduler="linear", batch_size=8, decision_token_weight=args.dtw,
                      share_prompt_prefix=bool(args.share), report_to=["none"], save_steps=10000, num_threads=args.threads)
    trainer = build_trainer(cfg, ds, tempfile.mkdtemp())
    trainer.train()
    model = trainer.model
print(json.dumps({**vars(args), "seconds": round(time.time() - start), **lc.measure(model, tok, tests)}), flush=True)
