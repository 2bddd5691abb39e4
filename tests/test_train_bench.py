"""The training throughput row: padding accounting and one tiny measurement of all three paths."""

from __future__ import annotations

import math

import pytest

from gram_rr.data.records import PreferencePair
from gram_rr.training.throughput import padding_share, train_throughput


def test_padding_share_counts_wasted_slots():
    assert padding_share([4, 4, 4, 4], 2) == 0.0
    # batches [2, 4] -> 8 slots, 6 real; [3] -> 3 slots, 3 real
    assert padding_share([2, 4, 3], 2) == pytest.approx(2 / 11)


def test_train_throughput_measures_every_path(tiny_model_dir):
    pairs = [
        PreferencePair(id=f"b{i}", question=f"{i} + 1?", response_a=f"{i + 1}", response_b=f"{i + 2}", label="A",
                       rationale=f"{i} + 1 = {i + 1}.")
        for i in range(4)
    ]
    row = train_throughput(pairs, role="prover", model=tiny_model_dir, batch_size=2, steps=1, warmup=1, repeats=1)
    for key in ("plain_tokens_per_s", "sft_tokens_per_s", "sft_packed_tokens_per_s"):
        assert math.isfinite(row[key]) and row[key] > 0, key
    assert row["sft_vs_plain"] == pytest.approx(row["sft_tokens_per_s"] / row["plain_tokens_per_s"])
    assert 0 <= row["padding_share"] < 1 and row["examples"] == 4
