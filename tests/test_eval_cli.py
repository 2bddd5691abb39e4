"""``python -m gram_rr.eval`` and the runner with the default SmolLM2 on tiny benchmark subsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gram_rr.eval import workloads
from gram_rr.eval.cli import main
from gram_rr.eval.runner import judge_pairs
from gram_rr.judge import JudgeConfig, RewardReasoner

pytestmark = pytest.mark.model


def test_cli_rewardbench_subset_on_hf_engine_resumes_from_cache(shared_data: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "rb"
    argv = [
        "--model", "smollm2-135m-instruct", "--benchmark", "rewardbench", "--engine", "hf", "--both-orders",
        "--data", str(shared_data / "llmbar" / "LLMBar_Adversarial_GPTOut.json"), "--limit", "2", "--out", str(out),
        "judge.max_new_tokens=16",
    ]
    assert main(argv) == 0
    result = json.loads((out / "results.json").read_text())
    assert result["run"]["pairs"] == 2 and result["run"]["both_orders"] is True
    assert result["diagnostics"]["votes"] == 4  # 2 pairs x 2 orders
    assert result["metrics"]["subsets"]["llmbar-adver-GPTOut"]["n"] == 2
    assert set(result["summary"]) == {"score (mean of sections present)", "Chat Hard"}
    assert 0.0 <= result["summary"]["Chat Hard"] <= 100.0
    lines = (out / "verdicts.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all(len(json.loads(line)["verdict"]["votes"]) == 2 for line in lines)
    assert (out / "results.md").is_file() and (out / "categories.png").is_file()

    # rerun: everything is cached, so no engine may be built
    import gram_rr.engines

    def no_engine(*args, **kwargs):
        raise AssertionError("a cached run must not load the model")

    monkeypatch.setattr(gram_rr.engines, "build_engine", no_engine)
    assert main(argv) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["summary"] == result["summary"]


@pytest.mark.vllm
def test_rmbench_prompt_on_vllm(vllm_engine, shared_data: Path):
    pairs = workloads.load_workload("rmbench", [shared_data / "rmbench" / "chat_filtered.json"], limit=1)
    reasoner = RewardReasoner(vllm_engine, JudgeConfig(max_new_tokens=32))
    verdicts = judge_pairs(reasoner, pairs, both_orders=False, batch_size=9)
    result = workloads.report("rmbench", pairs, verdicts, tie_credit=0.5)
    chat = result["metrics"]["domains"]["chat"]
    assert chat["n"] == 1 and set(chat) == {"n", "hard", "normal", "easy", "avg"}
    assert all(len(v.votes) == 1 and v.votes[0].num_tokens > 0 for v in verdicts)
    assert result["diagnostics"]["n"] == 9


SHARED_FILES = [
    ("judgebench", ["judgebench/judgebench_claude.jsonl"], True),
    ("rmbench", ["rmbench/chat_filtered.json"], False),
    ("rewardbench", [f"llmbar/LLMBar_{name}.json" for name in
                     ("Natural", "Adversarial_Neighbor", "Adversarial_GPTInst", "Adversarial_GPTOut", "Adversarial_Manual")], False),
    ("pairs", [f"llmbar/Processed_{name}.json" for name in ("FairEval", "LLMEval2", "MT-Bench")], False),
    ("pairs", ["pandalm/testset-v1.json"], False),
    ("pairs", ["hh_rlhf/harmless-base_test.jsonl.gz"], False),
]


@pytest.mark.vllm
@pytest.mark.parametrize(("benchmark", "files", "both_orders"), SHARED_FILES, ids=lambda v: str(v)[:30])
def test_every_shared_benchmark_file_on_vllm(vllm_engine, shared_data: Path, benchmark, files, both_orders):
    """The default model judges the first records of every benchmark file (whole files: scripts/eval_shared_data.sh)."""
    pairs = workloads.load_workload(benchmark, [shared_data / f for f in files], limit=1)
    reasoner = RewardReasoner(vllm_engine, JudgeConfig(max_new_tokens=8))
    verdicts = judge_pairs(reasoner, pairs, both_orders=both_orders, batch_size=64)
    result = workloads.report(benchmark, pairs, verdicts, tie_credit=0.5)
    assert result["diagnostics"]["n"] == len(pairs) == (9 if benchmark == "rmbench" else len(files))
    assert all(len(v.votes) == (2 if both_orders else 1) for v in verdicts)
    assert result["summary"]
