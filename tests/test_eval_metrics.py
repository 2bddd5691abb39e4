"""Each benchmark metric on hand-built cases whose answers are known (ties and abstentions included)."""

from __future__ import annotations

import pytest

from gram_rr.data.records import PreferencePair
from gram_rr.eval import judgebench, rewardbench, rmbench
from gram_rr.eval.pairs import length_bucket, pair_metrics
from gram_rr.eval.votes import vote_curve, vote_margin
from gram_rr.verdict import Verdict, Vote


def verdict(original: list[str | None], swapped: list[str | None] = ()) -> Verdict:
    """A verdict from answers already mapped back to the original orientation."""
    votes = [Vote(a, "", swapped=False) for a in original] + [Vote(a, "", swapped=True) for a in swapped]
    return Verdict(winner=None, confidence=0.0, votes=votes)


def pair(id: str, label: str | None, a: str = "x" * 10, b: str = "y" * 10) -> PreferencePair:
    return PreferencePair(id=id, question="q", response_a=a, response_b=b, label=label)


def test_pair_metrics_accuracy_by_group_reads_family_then_subset_then_domain():
    grouped = lambda id, label, **metadata: PreferencePair(id=id, question="q", response_a="x", response_b="y",
                                                           label=label, metadata=metadata)
    pairs = [
        grouped("k1", "A", family="keyword", subset="ignored"),  # family wins over subset
        grouped("k2", "A", family="keyword"),
        grouped("s1", "B", subset="mmlu-pro-law"),
        grouped("d1", "B", domain="chat"),
        grouped("none", "A"),
        grouped("unlabelled", None, family="keyword"),  # not scored
    ]
    verdicts = [verdict(["A"]), verdict(["B"]), verdict(["B"]), verdict(["A"]), verdict(["A"]), verdict(["A"])]
    assert pair_metrics(pairs, verdicts)["accuracy_by_group"] == {
        "-": {"n": 1, "accuracy": 100.0},
        "chat": {"n": 1, "accuracy": 0.0},
        "keyword": {"n": 2, "accuracy": 50.0},
        "mmlu-pro-law": {"n": 1, "accuracy": 100.0},
    }
    assert "accuracy_by_group" not in pair_metrics([pair("p", "A")], [verdict(["A"])])


# -- votes -----------------------------------------------------------------------------


def test_vote_margin_counts_abstentions_as_zero():
    assert vote_margin(verdict(["A", "A", "B", None]).votes, "A") == 1
    assert vote_margin(verdict(["A", None], ["B"]).votes, "B") == 0
    assert vote_margin(verdict([None, None]).votes, "A") == 0


def test_vote_curve_uses_first_k_votes_of_each_order():
    labels = ["A", "B"]
    verdicts = [
        verdict(["A", "B", "B"], ["A", "B", "B"]),  # k=1: +2; k=2: 0 (tie, wrong); k=3: -2
        verdict(["B", "B", "A"], [None, "B", "A"]),  # k=1: +1; k=2: +3; k=3: +1
    ]
    assert vote_curve(labels, verdicts) == {1: 100.0, 2: 50.0, 3: 50.0}


# -- any pair file -------------------------------------------------------------------------


def test_pair_metrics_known_answers():
    pairs = [pair("p1", "A"), pair("p2", "A"), pair("p3", "B"), pair("p4", "B"), pair("p5", None)]
    verdicts = [
        verdict(["A"], ["A"]),  # right in both orders
        verdict(["A"], ["B"]),  # order flip: tie -> wrong, inconsistent
        verdict([None], ["B"]),  # abstains once, right once -> right
        verdict(["A"], ["A"]),  # consistent but wrong
        verdict(["A"], ["A"]),  # unlabelled: skipped
    ]
    m = pair_metrics(pairs, verdicts)
    assert m["n"] == 4 and m["unlabelled"] == 1 and m["votes"] == 8
    assert m["accuracy"] == 50.0
    assert m["accuracy_original_order"] == 50.0  # p1, p2
    assert m["accuracy_swapped_order"] == 50.0  # p1, p3
    assert m["accuracy_both_orders"] == 25.0  # p1
    assert m["position_consistency"] == 50.0  # p1, p4
    assert m["abstention_rate"] == 12.5  # 1 of 8 votes
    assert m["no_verdict_rate"] == 25.0  # p2
    assert "vote_curve" not in m


def test_pair_metrics_length_buckets():
    pairs = [
        pair("short", "A", a="x" * 10, b="y" * 100),  # chosen 90% shorter
        pair("long", "B", a="x" * 10, b="y" * 100),  # chosen 90% longer
        pair("same", "A", a="x" * 100, b="y" * 95),
    ]
    verdicts = [verdict(["B"]), verdict(["B"]), verdict(["A"])]
    buckets = pair_metrics(pairs, verdicts)["accuracy_by_length"]
    assert buckets["chosen much shorter (< -50%)"] == {"n": 1, "accuracy": 0.0}
    assert buckets["chosen much longer (> +50%)"] == {"n": 1, "accuracy": 100.0}
    assert buckets["similar length (+-10%)"] == {"n": 1, "accuracy": 100.0}
    assert buckets["chosen shorter (-50%..-10%)"] == {"n": 0, "accuracy": None}
    assert length_bucket("", "") == "similar length (+-10%)"


def test_pair_metrics_single_order_has_no_consistency():
    m = pair_metrics([pair("p", "A")], [verdict(["A", "A", "B"])])
    assert m["position_consistency"] is None
    assert m["accuracy"] == 100.0 and m["accuracy_swapped_order"] == 0.0
    assert m["vote_curve"] == {1: 100.0, 2: 100.0, 3: 100.0}


def test_pair_metrics_rejects_misaligned_inputs():
    with pytest.raises(ValueError, match="align"):
        pair_metrics([pair("p", "A")], [])


# -- JudgeBench ----------------------------------------------------------------------------


def test_judgebench_pair_score():
    assert judgebench.pair_score("A>B", ["A>B", "A>B"]) == 2
    assert judgebench.pair_score("A>B", ["A>B", "B>A"]) == 0  # order flip: tie, not correct
    assert judgebench.pair_score("B>A", ["A=B", "B>A"]) == 1  # tie counts 0
    assert judgebench.pair_score("A>B", [None, "B>A"]) == -1  # failure counts 0
    assert judgebench.flip_decision("A=B") == "A=B" and judgebench.flip_decision(None) is None
    assert judgebench.normalize_decision("B>>A") == "B>A"


def test_judgebench_overall_over_pairs_and_mean_of_categories():
    judged = [
        judgebench.JudgedPair("mmlu-pro-law", "A>B", ["A>B", "A>B"]),  # correct
        judgebench.JudgedPair("mmlu-pro-math", "B>A", ["A>B", "A>B"]),  # wrong
        judgebench.JudgedPair("livebench-math", "A>B", ["A>B", None]),  # correct
        judgebench.JudgedPair("livebench-reasoning", "B>A", ["A>B", "A=B"]),  # wrong
        judgebench.JudgedPair("livecodebench", "A>B", ["B>A", "A>B"]),  # tie: wrong
    ]
    m = judgebench.judgebench_metrics(judged)
    assert m["overall_pairs"] == 40.0
    assert {k: c["accuracy"] for k, c in m["categories"].items()} == {
        "Knowledge": 50.0,
        "Reasoning": 0.0,
        "Math": 100.0,
        "Coding": 0.0,
    }
    assert m["overall_categories"] == 37.5
    assert m["outcomes"] == {"correct": 2, "incorrect": 2, "tie": 1}
    assert m["null_decisions"] == 1


def test_judgebench_from_verdicts_uses_subset_and_votes():
    pairs = [
        PreferencePair("a", "q", "x", "y", label="A", source="judgebench", metadata={"subset": "livecodebench"}),
        PreferencePair("b", "q", "x", "y", label="B", source="judgebench", metadata={"subset": "mmlu-pro-law"}),
    ]
    judged = judgebench.from_verdicts(pairs, [verdict(["A"], [None]), verdict(["A"], ["B"])])
    assert judged[0].decisions == ["A>B", None] and judged[0].label == "A>B"
    m = judgebench.judgebench_metrics(judged)
    assert m["categories"]["Coding"]["accuracy"] == 100.0
    assert m["categories"]["Knowledge"]["accuracy"] == 0.0


def test_judgebench_unknown_source():
    with pytest.raises(ValueError, match="unknown JudgeBench source"):
        judgebench.category("arena-hard")


# -- RM-Bench ------------------------------------------------------------------------------


def test_rmbench_score_matrix_and_triangles():
    m = rmbench.score_matrix([3.0, 2.0, 1.0], [2.5, 1.5, 0.5])
    assert m == [[True, True, True], [False, True, True], [False, False, True]]
    acc = rmbench.accuracy([m])
    assert acc["hard"] == 100.0 and acc["normal"] == 100.0 and acc["easy"] == 0.0
    assert acc["avg"] == pytest.approx(200 / 3)


def test_rmbench_ties_are_wrong():
    m = rmbench.score_matrix([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert rmbench.accuracy([m]) == {"hard": 0.0, "normal": 0.0, "easy": 0.0, "avg": 0.0}


def test_rmbench_domains_pool_safety_and_average():
    all_right = [[True] * 3 for _ in range(3)]
    none_right = [[False] * 3 for _ in range(3)]
    only_diagonal = [[i == j for j in range(3)] for i in range(3)]
    m = rmbench.rmbench_metrics(
        ["chat", "safety-refuse", "safety-response", "chat"], [all_right, none_right, only_diagonal, none_right]
    )
    assert m["domains"]["chat"] == {"n": 2, "hard": 50.0, "normal": 50.0, "easy": 50.0, "avg": 50.0}
    safety = m["domains"]["safety"]
    assert safety["n"] == 2 and safety["normal"] == 50.0 and safety["hard"] == 0.0 and safety["easy"] == 0.0
    assert safety["avg"] == pytest.approx(50 / 3)
    assert m["overall"] == pytest.approx((50 + 50 / 3) / 2)
    assert m["hard"] == 25.0 and m["normal"] == 50.0
    assert set(m["domains"]) == {"chat", "safety"}


def test_rmbench_unknown_domain():
    with pytest.raises(ValueError, match="unknown RM-Bench domains"):
        rmbench.rmbench_metrics(["poetry"], [[[True] * 3] * 3])


def test_rmbench_infer_domain():
    assert rmbench.infer_domain({"domain": "math"}) == "math"
    assert rmbench.infer_domain({}, "data/safety-response_filtered.json") == "safety-response"
    assert rmbench.infer_domain({"subset": "hep-python"}) == "code"
    assert rmbench.infer_domain({"subset": "xstest-should-refuse"}) == "safety-refuse"
    assert rmbench.infer_domain({"id": "math/12"}) == "math"
    with pytest.raises(ValueError, match="domain"):
        rmbench.infer_domain({"id": 3, "subset": "unknown"})


# -- RewardBench -----------------------------------------------------------------------------


def test_rewardbench_sections_use_example_counts():
    sections = rewardbench.section_scores({"math-prm": 50.0, "hep-python": 100.0, "llmbar-natural": 80.0})
    assert sections["Reasoning"] == pytest.approx((50 * 984 + 100 * 164) / (984 + 164))
    assert sections["Chat Hard"] == 80.0
    assert set(sections) == {"Reasoning", "Chat Hard"}


def test_rewardbench_metrics_and_generative_tie_credit():
    pairs = [
        PreferencePair("n1", "q", "x", "y", label="A", metadata={"subset": "llmbar-natural"}),
        PreferencePair("n2", "q", "x", "y", label="B", metadata={"subset": "llmbar-natural"}),
        PreferencePair("o1", "q", "x", "y", label="A", metadata={"subset": "llmbar-adver-GPTOut"}),
        PreferencePair("o2", "q", "x", "y", label="A", metadata={"subset": "llmbar-adver-GPTOut"}),
    ]
    verdicts = [verdict(["A"]), verdict([None]), verdict(["B"]), verdict(["A"], ["B"])]
    credits = rewardbench.credits_from_verdicts(pairs, verdicts, rewardbench.GENERATIVE_TIE_CREDIT)
    assert credits == [1.0, 0.5, 0.0, 0.5]
    assert rewardbench.credits_from_verdicts(pairs, verdicts, rewardbench.SCALAR_TIE_CREDIT) == [1.0, 0.0, 0.0, 0.0]
    m = rewardbench.rewardbench_metrics([p.metadata["subset"] for p in pairs], credits)
    assert m["subsets"]["llmbar-natural"] == {"n": 2, "accuracy": 75.0}
    assert m["subsets"]["llmbar-adver-GPTOut"] == {"n": 2, "accuracy": 25.0}
    assert m["sections"]["Chat Hard"] == pytest.approx((75 * 100 + 25 * 47) / 147)
    assert m["score"] == m["sections"]["Chat Hard"]
    assert m["sections_missing"] == ["Chat", "Safety", "Reasoning"]


def test_rewardbench_llmbar_subset_names():
    p = PreferencePair("x", "q", "a", "b", label="A", metadata={"subset": "Adversarial_Neighbor"})
    assert rewardbench.subset_of(p) == "llmbar-adver-neighbor"
    assert rewardbench.subset_of(PreferencePair("y", "q", "a", "b", label="A")) is None
