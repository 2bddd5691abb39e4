"""SFTTrainer whose loss projects only the positions that carry a label through the LM head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from trl import SFTTrainer


def label_positions(labels: torch.Tensor) -> torch.Tensor:
    """Sequence positions whose *next* token has a label, as one index range shared by the batch.

    With completion-only loss the prompt (most of a judge example) has no labels, so the
    LM head (vocabulary x hidden, the largest matmul of a small model) skips it.
    """
    has_label = (labels[:, 1:] != -100).any(dim=0).nonzero().flatten()
    if has_label.numel() == 0:
        return torch.arange(0, 1, device=labels.device)
    return torch.arange(int(has_label[0]), int(has_label[-1]) + 1, device=labels.device)


class CompletionSFTTrainer(SFTTrainer):
    """TRL's SFTTrainer with a cheaper completion-only loss on devices without Triton.

    TRL 1.16 computes the loss with a chunked LM head that, off Triton devices, scores every
    position (prompt included) and also computes entropy and top-1 per token; on a CPU this
    made our SFT 0.63x a plain PyTorch loop. Here the LM head runs only on the label range
    (``logits_to_keep``), the loss is the same token-mean cross-entropy, and the logged
    ``mean_token_accuracy`` and ``num_tokens`` keep TRL's meaning (entropy is not logged).
    """

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs["labels"]
        keep = label_positions(labels)
        model_inputs = {k: v for k, v in inputs.items() if k != "labels"}
        outputs = model(**model_inputs, use_cache=False, logits_to_keep=keep)
        targets = labels[:, keep + 1]
        logits = outputs.logits.float()
        token_loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100, reduction="sum")
        valid = targets != -100
        count = valid.sum() if num_items_in_batch is None else num_items_in_batch
        loss = token_loss / torch.as_tensor(count, device=token_loss.device).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        self._log_batch_metrics(logits, targets, valid, inputs)
        return (loss, outputs) if return_outputs else loss

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
