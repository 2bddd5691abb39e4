"""Reasoner, BT, LDL and tree side by side: LDL attributes -> tree, ``eval --scorer tree``, tie rules, compare."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from gram_rr.analyze import load_attributes, load_tree
from gram_rr.analyze.cli import main as analyze_main
from gram_rr.data import PreferencePair, write_pairs
from gram_rr.data.ratings import HELPSTEER2_ATTRIBUTES
from gram_rr.engines.base import Completion
from gram_rr.eval import existing, rewardbench, workloads
from gram_rr.eval.cli import build_parser, run_model
from gram_rr.eval.cli import main as eval_main
from gram_rr.eval.compare import comparison_table, load_results
from gram_rr.eval.compare import main as compare_main
from gram_rr.eval.report import format_value, write_report
from gram_rr.judge import RewardReasoner
from gram_rr.ldl import LDLRewardModel, LDLSpec
from gram_rr.parsing import format_judgment
from gram_rr.verdict import Verdict, Vote

SUBSETS = ("xstest-should-respond", "alpacaeval-easy")
_SHOWN = re.compile(r"\[The Start of Assistant (A|B)'s Response\]\n(.*?)\n\[The End of", re.DOTALL)


class LongerOrUnsure:
    """A scripted engine for a generative reasoner: the longer response wins, and it writes no answer
    (a failed parse) when a response says "unsure"."""

    def generate(self, conversations, sampling):
        outputs = []
        for conversation in conversations:
            shown = dict(_SHOWN.findall(conversation[-1]["content"]))
            if any("unsure" in text for text in shown.values()):
                text = "<think>I cannot tell</think>"
            else:
                text = format_judgment("longer", "A" if len(shown["A"]) > len(shown["B"]) else "B")
            outputs.append([Completion(text=text, num_tokens=5) for _ in range(sampling.n)])
        return outputs

    def score(self, conversations, continuations):
        raise NotImplementedError("not used by the judge")

    def close(self):
        pass


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_model_dir) -> dict[str, Path]:
    """A tiny LDL model and a tiny sequence classifier (Bradley-Terry's architecture), saved with their
    tokenizer; a RewardBench file of two subsets; training pairs for the tree."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    root = tmp_path_factory.mktemp("side-by-side")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    torch.manual_seed(3)
    ldl = LDLRewardModel.from_base(tiny_model_dir, LDLSpec(list(HELPSTEER2_ATTRIBUTES), 0.0, 4.0, 9, 0.5))
    with torch.no_grad():
        ldl.gate.weight.normal_(0, 0.5)
    ldl.save_pretrained(root / "ldl-model")
    tokenizer.save_pretrained(root / "ldl-model")
    bt = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=1, dtype=torch.float32)
    bt.save_pretrained(root / "bt-model", safe_serialization=True)
    tokenizer.save_pretrained(root / "bt-model")
    rows = []
    for k in range(8):
        chosen = "a careful answer that explains " + "every step " * (k + 2)
        rejected = "no" if k != 2 else "unsure"
        if k == 7:  # the rejected response is the longer one here
            chosen, rejected = "yes", "a long rambling reply that says nothing " * 3
        rows.append({"id": f"rb{k}", "prompt": f"question {k}?", "chosen": chosen, "rejected": rejected,
                     "subset": SUBSETS[k // 4]})
    benchmark = root / "rb.jsonl"
    benchmark.write_text("".join(json.dumps(row) + "\n" for row in rows))
    train = [
        PreferencePair(id=f"t{k:02d}", question=f"train {k}?", response_a="word " * (k % 7 + 1),
                       response_b="word " * ((k * 3) % 5 + 1), label="A" if k % 7 + 1 > (k * 3) % 5 + 1 else "B")
        for k in range(30) if k % 7 + 1 != (k * 3) % 5 + 1
    ]
    return {"root": root, "ldl": root / "ldl-model", "bt": root / "bt-model", "benchmark": benchmark,
            "train": write_pairs(root / "train.jsonl", train)}


@pytest.fixture(scope="module")
def attributes(folders) -> dict[str, Path]:
    """``analyze attributes`` of the LDL model on the training pairs and on the RewardBench file."""
    out = {"train": folders["root"] / "attrs-train.jsonl", "benchmark": folders["root"] / "attrs-rb.jsonl"}
    for name, benchmark in (("train", "pairs"), ("benchmark", "rewardbench")):
        argv = ["attributes", "--model", str(folders["ldl"]), "--pairs", str(folders[name]), "--benchmark", benchmark,
                "--out", str(out[name]), "--dtype", "float32", "--device", "cpu"]
        assert analyze_main(argv) == 0
    return out


@pytest.fixture(scope="module")
def tree_file(folders, attributes) -> Path:
    """A depth-2 tree on the LDL attributes and the lengths of the training pairs."""
    out = folders["root"] / "tree"
    argv = ["tree", "--pairs", str(folders["train"]), "--attributes", str(attributes["train"]),
            "--features", "attributes,length", "--max-depth", "2", "--out", str(out)]
    assert analyze_main(argv) == 0
    return out / "tree.json"


def test_attributes_are_the_ldl_heads_expected_ratings(folders, attributes):
    from transformers import AutoTokenizer

    from gram_rr.scalar_tokens import response_ids

    table = load_attributes(attributes["benchmark"])
    pairs = workloads.load_workload("rewardbench", [folders["benchmark"]])
    assert table.names == tuple(sorted(HELPSTEER2_ATTRIBUTES)) and set(table.by_id) == {p.id for p in pairs}
    model = LDLRewardModel.from_pretrained(folders["ldl"])
    tokenizer = AutoTokenizer.from_pretrained(folders["ldl"])
    for pair in pairs[:3]:
        scores = table.scores(pair.id)
        for response, side in ((pair.response_a, scores.a), (pair.response_b, scores.b)):
            ids = torch.tensor([response_ids(tokenizer, pair.question, response)])
            with torch.no_grad():
                output = model(ids)
            expected = (output.attribute_distributions[0] * output.values).sum(-1)  # E[D_s] per attribute
            assert [side[name] for name in model.spec.attributes] == pytest.approx(expected.tolist(), abs=1e-5)
            assert all(0.0 <= value <= 4.0 for value in side.values())
        assert scores.a != scores.b
    assert json.loads(attributes["benchmark"].read_text().splitlines()[0])["model"] == str(folders["ldl"])


def test_attributes_command_refuses_a_model_that_is_not_ldl(folders, tmp_path, capsys):
    from gram_rr.cli_errors import run_cli

    argv = ["attributes", "--model", str(folders["bt"]), "--pairs", str(folders["train"]), "--out",
            str(tmp_path / "a.jsonl")]
    assert run_cli(lambda: analyze_main(argv)) == 2
    assert "not an LDL reward model folder" in capsys.readouterr().err
    assert not (tmp_path / "a.jsonl").exists()


def test_tree_scores_a_benchmark_file_by_its_probability(folders, attributes, tree_file, tmp_path, capsys):
    out = tmp_path / "tree"
    base = ["--benchmark", "rewardbench", "--data", str(folders["benchmark"])]
    assert eval_main(["--scorer", "tree", "--tree", str(tree_file), *base, "--out", str(out)]) == 2
    assert "reads the 'attributes' features: pass --attributes FILE" in capsys.readouterr().err
    assert eval_main(["--attributes", str(attributes["benchmark"]), *base, "--model", "m", "--out", str(out)]) == 2
    assert "--attributes goes with --scorer tree" in capsys.readouterr().err

    argv = ["--scorer", "tree", "--tree", str(tree_file), "--attributes", str(attributes["benchmark"]), *base,
            "--out", str(out)]
    assert eval_main(argv) == 0
    result = json.loads((out / "results.json").read_text())
    run = result["run"]
    assert run["judge_kind"] == "tree" and run["both_orders"] is True
    assert run["model_kind"] == "decision tree: length, attributes"
    assert run["tie_rule"] == rewardbench.TIE_RULES["tree"] and result["model"] == str(tree_file)
    # the official credit read from the cached verdicts: P(chosen better) > 0.5 scores 1, else 0
    pairs = workloads.load_workload("rewardbench", [folders["benchmark"]])
    records = {json.loads(line)["id"]: json.loads(line)["verdict"] for line in (out / "verdicts.jsonl").open()}
    for subset in SUBSETS:
        members = [p for p in pairs if p.metadata["subset"] == subset]
        credits = []
        for pair in members:
            verdict = records[pair.id]
            assert len(verdict["votes"]) == 2 and verdict["probability"] is not None
            p_chosen = verdict["probability"] if pair.label == "A" else 1 - verdict["probability"]
            credits.append(float(p_chosen > 0.5))
        assert result["metrics"]["subsets"][subset]["accuracy"] == pytest.approx(100 * sum(credits) / len(credits))
    # the verdict file rescored alone says it is a tree's and scores the same
    rescored = existing.score_verdict_file("rewardbench", out / "verdicts.jsonl", [str(folders["benchmark"])])
    assert rescored["run"]["judge_kind"] == "tree" and rescored["summary"] == result["summary"]


def test_tree_credit_follows_the_probability_not_the_votes():
    disagree = [Vote("A", "", swapped=False, probability=0.9), Vote("B", "", swapped=True, probability=0.4)]
    verdict = Verdict(winner=None, confidence=0.0, votes=disagree, probability=0.7)
    tie = Verdict(winner=None, confidence=0.0, votes=[Vote("A", "", probability=0.5)], probability=0.5)
    assert rewardbench.pair_credit(verdict, "A", rewardbench.TIE_CREDIT["generative"]) == 0.5  # votes: a tie
    assert rewardbench.pair_credit(verdict, "A", rewardbench.TIE_CREDIT["tree"], by_probability=True) == 1.0
    assert rewardbench.pair_credit(verdict, "B", rewardbench.TIE_CREDIT["tree"], by_probability=True) == 0.0
    assert rewardbench.pair_credit(tie, "A", rewardbench.TIE_CREDIT["tree"], by_probability=True) == 0.0
    assert rewardbench.TIE_CREDIT["tree"] == rewardbench.SCALAR_TIE_CREDIT


def test_compare_shows_reasoner_bt_ldl_and_tree_side_by_side(folders, attributes, tree_file, tmp_path, tiny_model_dir):
    data = ["--benchmark", "rewardbench", "--data", str(folders["benchmark"])]
    # the reasoner: the tiny model's name (its tokenizer checks prompt lengths), a scripted engine's text
    args = build_parser().parse_args([*data, "--model", tiny_model_dir, "--out", str(tmp_path / "reasoner")])
    write_report(args.out, run_model(args, both_orders=False, judge=RewardReasoner(LongerOrUnsure())))
    for name in ("bt", "ldl"):
        argv = [*data, "--model", str(folders[name]), "--scorer", "scalar", "--out", str(tmp_path / name),
                "scorer.dtype=float32", "scorer.device=cpu"]
        assert eval_main(argv) == 0
    assert eval_main([*data, "--scorer", "tree", "--tree", str(tree_file), "--attributes", str(attributes["benchmark"]),
                      "--out", str(tmp_path / "tree")]) == 0
    names = ("reasoner", "bt", "ldl", "tree")
    runs = load_results([tmp_path / name for name in names])
    # the reasoner fails to parse one xstest pair: a generative tie worth 0.5 (3 right + 0.5 of 4)
    reasoner = runs[0][1]
    assert reasoner["metrics"]["subsets"]["xstest-should-respond"]["accuracy"] == 87.5
    assert reasoner["metrics"]["subsets"]["alpacaeval-easy"]["accuracy"] == 75.0

    table_path = tmp_path / "table.md"
    assert compare_main([str(tmp_path / name) for name in names] + ["--out", str(table_path)]) == 0
    table = table_path.read_text()
    assert table == comparison_table(runs)
    lines = table.splitlines()
    assert lines[0] == "## rewardbench" and "RewardBench v1" in lines[2]
    assert "| metric (%) | reasoner | bt | ldl | tree |" in lines
    assert ("| model kind | generative reasoner | scalar RM: sequence classifier | scalar RM: LDL | "
            "decision tree: length, attributes |") in lines
    rules = rewardbench.TIE_RULES
    assert f"| tie rule | {rules['generative']} | {rules['scalar']} | {rules['scalar']} | {rules['tree']} |" in lines
    for metric in ("score (mean of sections present)", "Chat", "Safety"):
        cells = " | ".join(format_value(result["summary"][metric]) for _, result in runs)
        assert f"| {metric} | {cells} |" in lines
    assert "| pairs judged | 8 | 8 | 8 | 8 |" in lines and "Not the same data" not in table


def test_compare_flags_runs_on_other_data_and_infers_older_kinds():
    def result(data, run):
        return {"benchmark": "rewardbench", "model": "m", "summary": {"score (mean of sections present)": 50.0},
                "run": {"data": data, **run}}

    table = comparison_table([("old-scalar", result("a.jsonl", {"scorer": "scalar"})),
                              ("old-reasoner", result("b.jsonl", {"engine": "vllm"}))])
    assert "| model kind | scalar RM | generative reasoner |" in table
    assert f"| tie rule | {rewardbench.TIE_RULES['scalar']} | {rewardbench.TIE_RULES['generative']} |" in table
    assert "Not the same data: old-scalar: a.jsonl; old-reasoner: b.jsonl" in table
