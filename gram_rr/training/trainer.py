"""SFTTrainer with a completion-only loss that shares the prompt prefix and can weight decision tokens."""

from __future__ import annotations

from contextlib import nullcontext

import torch
import torch.nn.functional as F
from trl import SFTTrainer

from gram_rr.parsing import FAVOURABLE_WORDS, UNFAVOURABLE_WORDS


class PairedShuffleSampler(torch.utils.data.Sampler):
    """Example indices in a seeded random order of their groups, each group's examples together.

    With groups = the pair each example came from, a pair and its A/B swap are neighbours, so
    batches of an even size hold both orders of the same pairs. A new order every epoch.
    """

    def __init__(self, groups: list[str], seed: int):
        members: dict[str, list[int]] = {}
        for index, group in enumerate(groups):
            members.setdefault(group, []).append(index)
        self.blocks, self.seed, self.epoch = list(members.values()), seed, 0

    def __len__(self) -> int:
        return sum(map(len, self.blocks))

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        for block in torch.randperm(len(self.blocks), generator=generator).tolist():
            yield from self.blocks[block]


def label_positions(labels: torch.Tensor) -> torch.Tensor:
    """Sequence positions whose *next* token has a label, as one index range shared by the batch.

    With completion-only loss the prompt (most of a judge example) has no labels, so the
    LM head (vocabulary x hidden, the largest matmul of a small model) skips it.
    """
    has_label = (labels[:, 1:] != -100).any(dim=0).nonzero().flatten()
    if has_label.numel() == 0:
        return torch.arange(0, 1, device=labels.device)
    return torch.arange(int(has_label[0]), int(has_label[-1]) + 1, device=labels.device)


def _positions(begin: int, end: int, rows: int, device) -> torch.Tensor:
    return torch.arange(begin, end, device=device).expand(rows, -1)


def shared_prefix_length(input_ids: torch.Tensor, attention_mask: torch.Tensor | None, limit: int) -> int:
    """How many leading tokens every row of the batch shares (real tokens only), at most ``limit``.

    Every judge example starts with the same chat header and instruction (about 400 tokens of
    SmolLM2's 630), so the batch can compute them once.
    """
    if input_ids.size(0) < 2:
        return 0
    same = (input_ids == input_ids[:1]).all(dim=0)
    if attention_mask is not None:
        same &= attention_mask.bool().all(dim=0)
    differs = (~same).nonzero()
    length = int(differs[0]) if differs.numel() else input_ids.size(1)
    return max(0, min(length, limit))


def letter_token_ids(tokenizer) -> list[int]:
    """Ids of every vocabulary token that reads as a bare position letter ("A", " B", "\\nA", ...)."""
    return _token_ids_reading(tokenizer, {"A", "B"})


def decision_token_ids(tokenizer) -> list[int]:
    """Position letters plus every whole-word token of a verdict word (" correct", " wrong", " better", ...)."""
    words = {w.casefold() for w in FAVOURABLE_WORDS + UNFAVOURABLE_WORDS}
    return sorted(set(letter_token_ids(tokenizer)) | set(_token_ids_reading(tokenizer, words, casefold=True)))


def _token_ids_reading(tokenizer, texts: set[str], casefold: bool = False) -> list[int]:
    ids = []
    for token, token_id in tokenizer.get_vocab().items():
        text = tokenizer.convert_tokens_to_string([token]).strip()
        if (text.casefold() if casefold else text) in texts:
            ids.append(token_id)
    return sorted(ids)


class CompletionSFTTrainer(SFTTrainer):
    """TRL's SFTTrainer with a cheaper, optionally weighted completion-only loss.

    - The LM head runs only on the label range (``logits_to_keep``): TRL 1.16's chunked loss
      scores every position off Triton devices.
    - ``share_prompt_prefix``: the tokens every row of a batch starts with are run once
      (batch 1) and their key/value cache is repeated for the rows, so the shared judge
      instruction costs one row of forward and backward instead of ``batch_size`` rows.
      The loss and its gradient are those of the unshared forward (same math; bf16 rounding
      may differ in the last bits).
    - ``prompt_gradient`` off: the prompt runs forward only (no activations kept, no backward), and
      the loss reaches the weights through the completion tokens alone. The loss is unchanged; its
      gradient leaves out how the weights shape the prompt's keys and values.
    - ``example_groups``: one group name per training example (the pair it came from); examples
      are then shuffled by group, a group's examples side by side (:class:`PairedShuffleSampler`).
    - ``decision_token_weight``: label tokens that decide (position letters: the answer and every
      "Response A/B"; verdict words: "correct", "wrong", "better", ...) weigh this much in the
      token mean; 1.0 is the plain mean. The decision is a handful of tokens among ~100 of rationale.
    The logged ``mean_token_accuracy`` and ``num_tokens`` keep TRL's meaning (entropy is not logged).
    """

    def __init__(self, *args, share_prompt_prefix: bool = True, prompt_gradient: bool = True,
                 decision_token_weight: float = 1.0, example_groups: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.example_groups = example_groups
        if example_groups is not None and len(example_groups) != len(self.train_dataset):
            raise ValueError(f"{len(example_groups)} example groups for {len(self.train_dataset)} training examples")
        self.share_prompt_prefix = share_prompt_prefix
        self.prompt_gradient = prompt_gradient
        self.decision_token_weight = decision_token_weight
        self._letter_ids: torch.Tensor | None = None
        if decision_token_weight != 1.0:
            self._letter_ids = torch.tensor(decision_token_ids(self.processing_class))

    def _get_train_sampler(self, train_dataset=None):
        if self.example_groups is None:
            return super()._get_train_sampler(train_dataset)
        return PairedShuffleSampler(self.example_groups, self.args.seed)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs["labels"]
        keep = label_positions(labels)
        outputs = self._forward(model, inputs, keep)
        targets = labels[:, keep + 1]
        logits = outputs.logits.float()
        valid = targets != -100
        token_loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100, reduction="none")
        weights = self._token_weights(targets, valid)
        count = valid.sum() if num_items_in_batch is None else num_items_in_batch
        if self._letter_ids is not None:  # weighted mean: the weights' total replaces the token count
            count = weights.sum() * (count / valid.sum().clamp(min=1))
        loss = (token_loss.view_as(targets) * weights).sum() / torch.as_tensor(count, device=logits.device).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        self._log_batch_metrics(logits, targets, valid, inputs)
        return (loss, outputs) if return_outputs else loss

    def _forward(self, model, inputs, keep: torch.Tensor):
        """Logits at ``keep``; the batch's shared prefix is computed once when enabled and possible, and the
        prompt (every token before ``keep``) without gradient when ``prompt_gradient`` is off."""
        model_inputs = {k: v for k, v in inputs.items() if k not in ("labels", "completion_mask")}
        ids, mask = model_inputs.get("input_ids"), model_inputs.get("attention_mask")
        if ids is None or "position_ids" in model_inputs:  # packed (padding-free) rows: one plain forward
            return model(**model_inputs, use_cache=False, logits_to_keep=keep)
        start = int(keep[0])  # tokens before it are prompt in every row (padding is on the right)
        shared = shared_prefix_length(ids, mask, limit=start) if self.share_prompt_prefix else 0
        shared = shared if shared >= 2 else 0
        frozen = 0 if self.prompt_gradient else start
        if not shared and not frozen:
            return model(**model_inputs, use_cache=False, logits_to_keep=keep)
        rows, width = ids.shape
        cache, done = None, 0
        if shared:
            with torch.no_grad() if frozen else nullcontext():
                cache = model(input_ids=ids[:1, :shared], use_cache=True, logits_to_keep=1).past_key_values
            cache.batch_repeat_interleave(rows)
            done = shared
        if frozen > done:
            with torch.no_grad():
                cache = model(input_ids=ids[:, done:frozen], attention_mask=None if mask is None else mask[:, :frozen],
                              position_ids=_positions(done, frozen, rows, ids.device), past_key_values=cache,
                              use_cache=True, logits_to_keep=1).past_key_values
            done = frozen
        return model(
            input_ids=ids[:, done:],
            attention_mask=mask,
            position_ids=_positions(done, width, rows, ids.device),
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=keep - done,
        )

    def _token_weights(self, targets: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        weights = valid.float()
        if self._letter_ids is not None:
            letters = torch.isin(targets, self._letter_ids.to(targets.device)) & valid
            weights = weights + (self.decision_token_weight - 1.0) * letters.float()
        return weights

    @torch.no_grad()
    def _log_batch_metrics(self, logits, targets, valid, inputs) -> None:
        mode = "train" if self.model.training else "eval"
        num_valid = self.accelerator.gather_for_metrics(valid.sum()).sum()
        correct = self.accelerator.gather_for_metrics(((logits.argmax(-1) == targets) & valid).sum()).sum()
        self._metrics[mode]["mean_token_accuracy"].append((correct / num_valid).item() if num_valid > 0 else 0.0)
        if mode == "train":
            if "attention_mask" in inputs:
                local = inputs["attention_mask"].sum()
            else:  # padding-free: one row of real tokens
                local = torch.tensor(inputs["position_ids"].size(1), device=inputs["position_ids"].device)
            self._total_train_tokens += self.accelerator.gather_for_metrics(local).sum().item()
        self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
