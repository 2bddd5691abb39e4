"""The speed harness (benchmarks/throughput_vs_reference.py): speed-up ratios, the table, call counting (no model)."""

from __future__ import annotations

from gram_rr.bench import load_harness
from gram_rr.judge import RewardReasoner
from test_judge_unit import FakeEngine, prefers_longer

harness = load_harness()
SECTIONS, CountingEngine, Row = harness.SECTIONS, harness.CountingEngine, harness.Row
build_parser, format_table = harness.build_parser, harness.format_table


def test_ratio_is_a_speed_up_for_times_and_rates():
    assert Row("s", "time", ours=2.0, baseline=10.0, unit="s").ratio == 5.0
    assert Row("s", "rate", ours=30.0, baseline=2.0, unit="pairs/s").ratio == 15.0
    assert Row("s", "no baseline", ours=1.0).ratio is None
    table = format_table([Row("pairwise", "pairs/s", 3.0, 0.2, "pairs/s", ">= 15x")])
    assert "15.00x" in table and ">= 15x" in table


def test_counting_engine_counts_rounds_and_comparisons():
    engine = CountingEngine(FakeEngine(prefers_longer))
    reasoner = RewardReasoner(engine)
    assert reasoner.best_of_n("q", ["a" * n for n in range(1, 17)]) == 15
    assert (engine.calls, engine.prompts, engine.tokens) == (4, 15, 15 * 7)
    engine.reset()
    reasoner.compare_many([("q", "a", "bb")] * 3, votes=16)
    assert (engine.calls, engine.prompts, engine.samples) == (1, 3, 48)


def test_sections_registry_and_defaults():
    args = build_parser().parse_args([])
    assert args.sections.split(",") == list(SECTIONS)
    assert args.max_new_tokens == 128 and args.best_of == [8, 16] and args.rank_n == 8
