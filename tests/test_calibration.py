"""Preference probabilities: AUC, Brier, ECE and the reliability diagram on hand-computed cases,
and how pair metrics, the eval report and RM-Bench use them (no model)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from gram_rr.data.records import PreferencePair
from gram_rr.eval import rmbench, workloads
from gram_rr.eval.calibration import calibration_metrics, confidence_bin, plot_reliability, roc_auc
from gram_rr.eval.pairs import pair_metrics
from gram_rr.eval.report import markdown, write_report
from gram_rr.verdict import Verdict, Vote


def verdict(probability: float | None, answers: tuple[str | None, ...] = ()) -> Verdict:
    return Verdict(winner=None, confidence=0.0, votes=[Vote(a, "") for a in answers], probability=probability)


def pair(id: str, label: str | None) -> PreferencePair:
    return PreferencePair(id=id, question="q", response_a="x" * 10, response_b="y" * 10, label=label)


# -- AUC ---------------------------------------------------------------------------------------


def test_auc_counts_ties_as_half():
    # positives 0.8, 0.6, 0.6 against negatives 0.6, 0.2: of the 6 (pos, neg) pairs,
    # 0.8 wins both, each 0.6 ties 0.6 (1/2) and beats 0.2: (2 + 1.5 + 1.5) / 6
    assert roc_auc([0.8, 0.6, 0.6, 0.6, 0.2], [True, True, True, False, False]) == pytest.approx(5 / 6)
    assert roc_auc([0.3, 0.3, 0.3], [True, False, True]) == 0.5
    assert roc_auc([0.1, 0.9], [False, True]) == 1.0 and roc_auc([0.1, 0.9], [True, False]) == 0.0
    assert roc_auc([0.4, 0.7], [True, True]) is None and roc_auc([], []) is None


def test_auc_equals_the_pairwise_definition():
    rng = random.Random(3)
    for _ in range(20):
        n = rng.randint(2, 30)
        scores = [rng.choice([0.0, 0.25, 0.5, 0.75, 1.0, rng.random()]) for _ in range(n)]
        positives = [rng.random() < 0.5 for _ in range(n)]
        pos = [s for s, y in zip(scores, positives) if y]
        neg = [s for s, y in zip(scores, positives) if not y]
        if not pos or not neg:
            assert roc_auc(scores, positives) is None
            continue
        expected = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))
        assert roc_auc(scores, positives) == pytest.approx(expected)


# -- Brier, accuracy, ECE ----------------------------------------------------------------------


def test_confidence_bins_on_half_to_one():
    assert [confidence_bin(c) for c in (0.5, 0.52, 0.56, 0.74, 0.75, 0.99, 1.0)] == [0, 0, 1, 4, 5, 9, 9]


def test_metrics_on_a_hand_computed_case():
    m = calibration_metrics(["A", "A", "B", "B", "A"], [0.92, 0.38, 0.27, 0.5, None])
    assert m["n"] == 4 and m["missing"] == 1
    assert m["auc"] == pytest.approx(3 / 4)  # 0.92 beats 0.27 and 0.5; 0.38 beats 0.27 only
    assert m["brier"] == pytest.approx((0.08**2 + 0.62**2 + 0.27**2 + 0.5**2) / 4)
    assert m["accuracy"] == 50.0  # 0.92 right, 0.38 favours B, 0.27 right, 0.5 favours no side
    # confidences 0.92 (right), 0.62 (wrong), 0.73 (right), 0.5 (wrong), one per bin
    assert m["ece"] == pytest.approx((0.08 + 0.62 + 0.27 + 0.5) / 4)
    assert [b["n"] for b in m["bins"]] == [1, 0, 1, 0, 1, 0, 0, 0, 1, 0]
    assert m["bins"][4] == {"low": 0.7, "high": 0.75, "n": 1, "confidence": pytest.approx(0.73), "accuracy": 1.0}
    assert m["bins"][1]["confidence"] is None and m["bins"][1]["accuracy"] is None
    assert m["bins"][0]["low"] == 0.5 and m["bins"][-1]["high"] == 1.0


def test_perfectly_calibrated_probabilities_have_zero_ece():
    # p = 0.75 is right 3 times in 4, p = 0.25 (confidence 0.75 for B) too, p = 1 and 0 always
    labels = ["A", "A", "A", "B", "B", "B", "B", "A", "A", "B"]
    probabilities = [0.75, 0.75, 0.75, 0.75, 0.25, 0.25, 0.25, 0.25, 1.0, 0.0]
    m = calibration_metrics(labels, probabilities)
    assert m["ece"] == 0.0 and m["accuracy"] == 80.0
    assert [b["n"] for b in m["bins"]] == [0, 0, 0, 0, 0, 8, 0, 0, 0, 2]
    assert m["brier"] == pytest.approx((6 * 0.0625 + 2 * 0.5625) / 10)
    # 25 (A, B) pairs: 1.0 beats all 5; each A at 0.75 ties one B at 0.75 and beats 4; the A at 0.25 ties 3, beats 0.0
    assert m["auc"] == pytest.approx((5 + 3 * 4.5 + 2.5) / 25)


def test_anti_calibrated_probabilities():
    m = calibration_metrics(["A", "B", "A", "B"], [0.1, 0.9, 0.1, 0.9])
    assert m["auc"] == 0.0 and m["accuracy"] == 0.0
    assert m["brier"] == pytest.approx(0.81) and m["ece"] == pytest.approx(0.9)
    assert m["bins"][8]["n"] == 4 and m["bins"][8]["accuracy"] == 0.0


def test_probability_one_half_favours_no_side():
    m = calibration_metrics(["A", "B", "A"], [0.5, 0.5, 0.5])
    assert m["accuracy"] == 0.0 and m["auc"] == 0.5 and m["brier"] == 0.25
    assert m["ece"] == 0.5 and m["bins"][0]["n"] == 3 and m["bins"][0]["accuracy"] == 0.0


def test_all_missing_probabilities_are_counted():
    m = calibration_metrics(["A", "B", "B"], [None, None, None])
    assert m["n"] == 0 and m["missing"] == 3
    assert m["auc"] is m["brier"] is m["accuracy"] is m["ece"] is None
    assert sum(b["n"] for b in m["bins"]) == 0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        calibration_metrics(["A"], [1.5])
    with pytest.raises(ValueError, match="'A' or 'B'"):
        calibration_metrics([None], [0.5])
    with pytest.raises(ValueError, match="2 labels but 1"):
        calibration_metrics(["A", "B"], [0.5])


# -- reliability diagram -----------------------------------------------------------------------


def test_reliability_png_is_written_atomically(tmp_path: Path, monkeypatch):
    m = calibration_metrics(["A", "B", "A", "B"], [0.9, 0.3, 0.45, 0.5])
    path = plot_reliability(m, tmp_path / "out" / "reliability.png", "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    assert [p.name for p in path.parent.iterdir()] == ["reliability.png"]
    # a failing save leaves the previous file whole and no temporary file behind
    import matplotlib.figure

    before = path.read_bytes()

    def broken_savefig(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot_reliability(m, path)
    assert path.read_bytes() == before and [p.name for p in path.parent.iterdir()] == ["reliability.png"]
    monkeypatch.undo()
    # with no probability at all the diagram is still drawn (empty), not an error
    empty = plot_reliability(calibration_metrics(["A"], [None]), tmp_path / "empty.png")
    assert empty.stat().st_size > 1000


# -- pair metrics and the eval report ----------------------------------------------------------


def test_pair_metrics_adds_probability_only_when_some_verdict_has_one():
    pairs = [pair("p0", "A"), pair("p1", "B"), pair("p2", "A"), pair("u", None)]
    answers = [("A",), ("A",), ("B",), ("A",)]
    with_p = [verdict(p, a) for p, a in zip([0.8, 0.6, None, 0.9], answers)]
    m = pair_metrics(pairs, with_p)
    assert m["accuracy"] == pytest.approx(100 / 3)  # the vote-based numbers are unchanged
    assert m["probability"] == calibration_metrics(["A", "B", "A"], [0.8, 0.6, None])
    assert m["probability"]["n"] == 2 and m["probability"]["missing"] == 1  # the unlabelled pair is skipped
    assert m["probability"]["auc"] == 1.0 and m["probability"]["accuracy"] == 50.0
    assert "probability" not in pair_metrics(pairs, [verdict(None, a) for a in answers])


def test_eval_report_prints_probability_tables_and_draws_reliability(tmp_path: Path):
    pairs = [pair(f"p{k}", "A" if k % 2 else "B") for k in range(6)]
    probabilities = [0.2, 0.7, 0.55, 0.9, None, 0.45]  # labels B, A, B, A, B, A
    verdicts = [verdict(p, ("A",)) for p in probabilities]
    result = workloads.report("pairs", pairs, verdicts, tie_credit=0.5)
    calibration = result["diagnostics"]["probability"]
    assert calibration["n"] == 5 and calibration["missing"] == 1
    text = markdown(result)
    assert "| pairs without one | 1 |" in text
    assert "| AUC (label A positive) | 0.833 |" in text  # 0.7 and 0.9 beat 0.2 and 0.55; 0.45 beats 0.2: 5/6
    assert f"| ECE (10 confidence bins) | {calibration['ece']:.3f} |" in text
    assert "| accuracy of P > 0.5 (%) | 60.0 |" in text  # 0.2 (B), 0.7 (A), 0.9 (A) right; 0.55, 0.45 wrong
    assert "| 0.90-0.95 | 1 | 0.900 | 1.000 |" in text
    paths = write_report(tmp_path, result)
    assert paths["reliability"] == tmp_path / "reliability.png"
    assert (tmp_path / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "results.json").read_text())["diagnostics"]["probability"]["n"] == 5
    # without probabilities: no table, no diagram
    plain = workloads.report("pairs", pairs, [verdict(None, ("A",)) for _ in pairs], tie_credit=0.5)
    assert "AUC" not in markdown(plain)
    assert "reliability" not in write_report(tmp_path / "plain", plain)


# -- RM-Bench ----------------------------------------------------------------------------------


def rmbench_pairs(tmp_path: Path) -> list[PreferencePair]:
    rows = [{"id": 0, "prompt": "q", "subset": "alpacaeval", "chosen": [f"c{i}" * (i + 1) for i in range(3)],
             "rejected": [f"r{j}" * (j + 1) for j in range(3)]}]
    path = tmp_path / "chat_filtered.json"
    path.write_text(json.dumps(rows))
    pairs = workloads.load_workload("rmbench", [path])
    assert len(pairs) == 9 and {p.label for p in pairs} == {"A", "B"}  # chosen sits at A and at B
    return pairs


def p_of_a(pair: PreferencePair, p_chosen: float) -> float:
    return p_chosen if pair.label == "A" else 1.0 - p_chosen


def test_rmbench_uses_the_probability_of_the_chosen_response(tmp_path: Path):
    pairs = rmbench_pairs(tmp_path)

    # P(chosen better) = 0.8 when chosen is not in a plainer style than rejected (i >= j),
    # 0.3 otherwise; every vote abstains, so votes alone would score 0 everywhere.
    def p_chosen(p):
        return 0.8 if p.metadata["chosen_style"] >= p.metadata["rejected_style"] else 0.3

    verdicts = [verdict(p_of_a(p, p_chosen(p)), (None,)) for p in pairs]
    chat = workloads.report("rmbench", pairs, verdicts, tie_credit=0.5)["metrics"]["domains"]["chat"]
    assert (chat["hard"], chat["normal"], chat["easy"]) == (0.0, 100.0, 100.0)
    assert chat["avg"] == pytest.approx(200 / 3)


def test_rmbench_probability_ties_are_wrong_and_missing_ones_fall_back_to_votes(tmp_path: Path):
    pairs = rmbench_pairs(tmp_path)
    cells = {}
    verdicts = []
    for p in pairs:
        i, j = p.metadata["chosen_style"], p.metadata["rejected_style"]
        if i == j:  # normal: exactly 0.5, a tie, even though the votes pick the chosen response
            verdicts.append(verdict(0.5, (p.label,)))
        elif i < j:  # hard: no probability, the votes pick the chosen response twice to once
            verdicts.append(verdict(None, (p.label, p.label, "B" if p.label == "A" else "A")))
        else:  # easy: the probability favours rejected although the votes favour chosen
            verdicts.append(verdict(p_of_a(p, 0.4), (p.label,)))
        cells[(i, j)] = rmbench.chosen_wins(p, verdicts[-1])
    assert cells == {(i, j): i < j for i in range(3) for j in range(3)}
    result = workloads.report("rmbench", pairs, verdicts, tie_credit=0.5)
    chat = result["metrics"]["domains"]["chat"]
    assert (chat["hard"], chat["normal"], chat["easy"]) == (100.0, 0.0, 0.0)
    assert result["diagnostics"]["probability"]["n"] == 6 and result["diagnostics"]["probability"]["missing"] == 3
