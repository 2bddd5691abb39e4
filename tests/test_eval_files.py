"""Scoring files other tools wrote, the verdict cache, the batched runner and the reports (no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gram_rr.data.errors import DataError
from gram_rr.data.records import PreferencePair
from gram_rr.eval import existing, workloads
from gram_rr.eval.cache import VerdictCache
from gram_rr.eval.cli import main
from gram_rr.eval.runner import evaluate_pairs, judge_pairs
from gram_rr.verdict import Verdict, Vote


def jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def judgebench_record(source: str, label: str, d1: str | None, d2: str | None, null_second: bool = False) -> dict:
    """A record as JudgeBench's run_judge.py writes it (second judgment made on B, A)."""
    judgments = [{"judgment": {"judge_model": "m", "response": "..."}, "decision": d1}]
    judgments.append(None if null_second else {"judgment": {"judge_model": "m", "response": "..."}, "decision": d2})
    return {"pair_id": source + label, "source": source, "question": "q", "response_A": "a", "response_B": "b",
            "label": label, "judge_name": "arena_hard", "judgments": judgments}


@pytest.fixture
def judgebench_output(tmp_path: Path) -> Path:
    return jsonl(
        tmp_path / "dataset=judgebench,judge_name=arena_hard.jsonl",
        [
            judgebench_record("mmlu-pro-law", "A>B", "A>B", "B>A"),  # consistent and right: +2
            judgebench_record("mmlu-pro-law", "B>A", "A>B", "A>B"),  # always first position: 0
            judgebench_record("livebench-math", "A>B", "A>>B", None, null_second=True),  # +1
            judgebench_record("livebench-reasoning", "B>A", "A=B", "A>B"),  # second flips to B>A: +1
            judgebench_record("livecodebench", "A>B", "B>A", "A>B"),  # -2
        ],
    )


def test_score_judgebench_output_file(judgebench_output: Path):
    result = existing.score_judgebench_outputs(judgebench_output)
    assert result["summary"]["overall (over pairs, JudgeBench)"] == 60.0
    assert result["categories"] == {"Knowledge": 50.0, "Reasoning": 100.0, "Math": 100.0, "Coding": 0.0}
    assert result["summary"]["overall (mean of categories, GRAM-R2)"] == 62.5


def test_cli_scores_judgebench_output(judgebench_output: Path, tmp_path: Path, capsys):
    out = tmp_path / "report"
    assert main(["--benchmark", "judgebench", "--judgments", str(judgebench_output), "--out", str(out)]) == 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["summary"]["overall (over pairs, JudgeBench)"] == 60.0
    assert "| Coding | 0.0 |" in (out / "results.md").read_text()
    assert (out / "categories.png").read_bytes()[:4] == b"\x89PNG"
    assert "62.5" in capsys.readouterr().out
    # without --out the table is only printed
    assert main(["--benchmark", "judgebench", "--judgments", str(judgebench_output)]) == 0
    assert "| overall (over pairs, JudgeBench) | 60.0 |" in capsys.readouterr().out


def test_score_rmbench_result_file(tmp_path: Path):
    rows = [
        # domain given; nested one level as run_rm.py may write it
        {"id": 1, "domain": "chat", "score_chosen": [[3.0], [2.0], [1.0]], "score_rejected": [[2.5], [1.5], [0.5]]},
        {"id": 2, "domain": "safety-refuse", "score_chosen": [1, 1, 1], "score_rejected": [0, 0, 0]},
        # no domain: derived from the subset
        {"id": 3, "subset": "xstest-should-respond", "score_chosen": [0, 0, 0], "score_rejected": [0, 0, 0]},
    ]
    path = tmp_path / "total_dataset_scores.json"
    path.write_text(json.dumps(rows))
    result = existing.score_rmbench_results(path)
    assert result["categories"]["chat avg"] == pytest.approx(200 / 3)
    assert result["categories"]["chat easy"] == 0.0
    assert result["metrics"]["domains"]["safety"]["n"] == 2
    assert result["summary"]["safety"] == 50.0  # one prompt all right, one all ties
    assert result["summary"]["overall"] == pytest.approx((200 / 3 + 50) / 2)
    out = tmp_path / "out"
    assert main(["--benchmark", "rmbench", "--scores", str(path), "--out", str(out)]) == 0
    assert json.loads((out / "results.json").read_text())["summary"]["overall"] == pytest.approx((200 / 3 + 50) / 2)


class LongerWins:
    """A fake judge: the longer response wins (abstains on equal length); counts calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.judged: list[str] = []

    def compare_many(self, pairs, votes=None, both_orders=None):
        self.calls += 1
        self.judged += [p.id for p in pairs]
        out = []
        for p in pairs:
            a, b = len(p.response_a), len(p.response_b)
            answer = "A" if a > b else "B" if b > a else None
            vs = [Vote(answer, "", swapped=False)] + ([Vote(answer, "", swapped=True)] if both_orders else [])
            out.append(Verdict(answer, 1.0 if answer else 0.0, vs))
        return out


def make_pairs(n: int) -> list[PreferencePair]:
    return [PreferencePair(f"p{k}", "q", "a" * (k % 3), "b", label="A") for k in range(n)]


def test_judge_pairs_batches_caches_and_resumes(tmp_path: Path):
    pairs = make_pairs(10)
    cache = VerdictCache(tmp_path / "verdicts.jsonl", {"model": "fake"})
    judge = LongerWins()
    first = judge_pairs(judge, pairs, both_orders=True, batch_size=4, cache=cache)
    assert judge.calls == 3 and len(first) == 10
    # a second run with the same cache file judges nothing
    again = LongerWins()
    reopened = VerdictCache(cache.path, {"model": "fake"})
    second = judge_pairs(again, pairs, both_orders=True, batch_size=4, cache=reopened)
    assert again.calls == 0
    assert [v.winner for v in second] == [v.winner for v in first]
    with pytest.raises(ValueError, match="settings"):
        VerdictCache(cache.path, {"model": "other"})


def test_cache_is_keyed_by_content_so_changed_data_under_the_same_ids_is_judged_again(tmp_path: Path):
    import dataclasses

    pairs = make_pairs(4)
    path = tmp_path / "verdicts.jsonl"
    judge_pairs(LongerWins(), pairs, cache=VerdictCache(path, {}))
    changed = [dataclasses.replace(pairs[1], response_b="b" * 9), pairs[0], pairs[2], dataclasses.replace(pairs[3], question="q2")]
    judge = LongerWins()
    verdicts = judge_pairs(judge, changed, cache=VerdictCache(path, {}))
    assert sorted(judge.judged) == ["p1", "p3"]  # same ids, other content: not taken from the cache
    assert verdicts[0].winner == "B"  # p1's new, longer B wins


def test_cache_drops_torn_last_line_and_judges_it_again(tmp_path: Path):
    pairs = make_pairs(3)
    path = tmp_path / "verdicts.jsonl"
    judge_pairs(LongerWins(), pairs, cache=VerdictCache(path, {}))
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][:15])  # killed mid-write
    judge = LongerWins()
    judge_pairs(judge, pairs, cache=VerdictCache(path, {}))
    assert judge.judged == ["p2"]
    assert len(path.read_text().splitlines()) == 3


def test_judge_pairs_skips_pairs_that_do_not_fit():
    judge = LongerWins()
    verdicts = judge_pairs(judge, make_pairs(3), fits=lambda p: p.id != "p1")
    assert judge.judged == ["p0", "p2"]
    assert verdicts[1].votes == [] and verdicts[1].winner is None


def test_judge_pairs_rejects_duplicate_ids():
    with pytest.raises(ValueError, match="unique"):
        judge_pairs(LongerWins(), make_pairs(2) * 2)


def test_evaluate_pairs_reports_pair_metrics():
    pairs = make_pairs(6)  # response_a lengths 0,1,2,0,1,2 vs 1: A wins for k%3 == 2 only
    result = evaluate_pairs(LongerWins(), pairs, both_orders=True)
    assert result["n"] == 6
    assert result["accuracy"] == pytest.approx(100 * 2 / 6)
    assert result["no_verdict_rate"] == pytest.approx(100 * 2 / 6)  # equal lengths abstain
    assert result["position_consistency"] == pytest.approx(100 * 4 / 6)


def test_rmbench_workload_and_report_from_verdicts(tmp_path: Path):
    rows = [
        {"id": k, "prompt": f"q{k}", "subset": "alpacaeval", "chosen": [f"c{k}{i}" * (i + 1) for i in range(3)],
         "rejected": [f"r{k}{j}" * (j + 1) for j in range(3)]}
        for k in range(2)
    ]
    path = tmp_path / "chat_filtered.json"
    path.write_text(json.dumps(rows))
    pairs = workloads.load_workload("rmbench", [path])
    assert len(pairs) == 18 and {p.metadata["domain"] for p in pairs} == {"chat"}

    # The judge prefers the chosen response only when it is not in a plainer style than
    # the rejected one (i >= j), and abstains otherwise: hard = 0, normal = easy = 100.
    def pick(p):
        i, j = p.metadata["chosen_style"], p.metadata["rejected_style"]
        return p.label if i >= j else None

    verdicts = [Verdict(pick(p), 1.0, [Vote(pick(p), "")]) for p in pairs]
    result = workloads.report("rmbench", pairs, verdicts, tie_credit=0.5)
    assert result["metrics"]["domains"]["chat"]["hard"] == 0.0
    assert result["metrics"]["domains"]["chat"]["normal"] == 100.0
    assert result["metrics"]["domains"]["chat"]["easy"] == 100.0
    assert result["summary"]["overall"] == pytest.approx(200 / 3)
    # and the same numbers from the verdict file the runner writes
    cache = VerdictCache(tmp_path / "run" / "verdicts.jsonl", {"model": "fake"})
    cache.add(zip(pairs, verdicts))
    out = tmp_path / "rescored"
    assert main(["--benchmark", "rmbench", "--judgments", str(cache.path), "--data", str(path), "--out", str(out)]) == 0
    assert json.loads((out / "results.json").read_text())["summary"]["overall"] == pytest.approx(200 / 3)


def test_rewardbench_workload_from_llmbar_and_rewardbench_files(tmp_path: Path, shared_data: Path):
    gptout = shared_data / "llmbar" / "LLMBar_Adversarial_GPTOut.json"
    pairs = workloads.load_workload("rewardbench", [gptout], limit=3)
    assert {p.metadata["subset"] for p in pairs} == {"llmbar-adver-GPTOut"}
    rb = jsonl(
        tmp_path / "filtered.jsonl",
        [{"id": 7, "prompt": "q", "chosen": "good", "rejected": "bad", "subset": "xstest-should-respond"}],
    )
    assert workloads.load_workload("rewardbench", [rb])[0].metadata["subset"] == "xstest-should-respond"
    other = shared_data / "pandalm" / "testset-v1.json"
    with pytest.raises(ValueError, match="subset"):
        workloads.load_workload("rewardbench", [other], limit=2)


def test_cli_errors_are_clear(tmp_path: Path, capsys):
    assert main(["--benchmark", "pairs", "--out", str(tmp_path)]) == 2
    assert "needs --model, --data and --out" in capsys.readouterr().err


def test_compare_puts_runs_side_by_side(judgebench_output: Path, tmp_path: Path, capsys):
    from gram_rr.eval.compare import main as compare

    for name in ("judge-x", "judge-y"):
        argv = ["--benchmark", "judgebench", "--judgments", str(judgebench_output), "--out", str(tmp_path / name)]
        assert main(argv) == 0
    table_path = tmp_path / "table.md"
    assert compare([str(tmp_path / "judge-x"), str(tmp_path / "judge-y"), "--out", str(table_path)]) == 0
    table = table_path.read_text()
    assert "## judgebench" in table
    assert "| overall (over pairs, JudgeBench) | 60.0 | 60.0 |" in table
    assert compare([str(tmp_path / "missing")]) == 2


def test_pairs_report_gives_accuracy_per_file():
    pairs = [
        PreferencePair("a", "q", "xx", "y", label="A", source="pandalm"),
        PreferencePair("b", "q", "xx", "y", label="B", source="hh_rlhf"),
    ]
    result = workloads.report("pairs", pairs, LongerWins().compare_many(pairs), tie_credit=0.5)
    assert result["summary"]["accuracy [pandalm]"] == 100.0
    assert result["summary"]["accuracy [hh_rlhf]"] == 0.0
    assert result["summary"]["accuracy"] == 50.0


def test_cached_verdicts_keep_their_probabilities():
    from gram_rr.eval.cache import verdict_from_dict
    from gram_rr.verdict import Verdict, Vote

    verdict = Verdict("A", 1.0, [Vote("A", "r", probability=0.8), Vote("A", "r", swapped=True, probability=0.7)], probability=0.75)
    assert verdict_from_dict(verdict.to_dict()) == verdict


def test_empty_rmbench_scores_file_is_a_clear_error(tmp_path: Path, capsys):
    for name, text in (("empty.json", "[]"), ("empty.jsonl", "\n")):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(DataError, match="no RM-Bench rows"):
            existing.score_rmbench_results(path, domain="chat")
        assert main(["--benchmark", "rmbench", "--scores", str(path)]) == 2
        assert f"{path}: no RM-Bench rows to score" in capsys.readouterr().err


def test_rmbench_bad_rows_name_file_record_and_field(tmp_path: Path):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps([{"id": 1, "score_chosen": [1, 2, 3], "score_rejected": [0, 0]}]))
    with pytest.raises(DataError, match=r"chat.json, record 0: field 'score_rejected': expected a list of 3"):
        existing.score_rmbench_results(path)
    jsonl(path := tmp_path / "chat.jsonl", [{"id": 1, "score_chosen": [1, "x", 3], "score_rejected": [0, 0, 0]}])
    with pytest.raises(DataError, match=r"chat.jsonl, line 1: field 'score_chosen': .* not numbers"):
        existing.score_rmbench_results(path)


def test_rmbench_duplicate_ids_name_both_rows(tmp_path: Path):
    row = {"id": 7, "score_chosen": [1, 1, 1], "score_rejected": [0, 0, 0]}
    path = jsonl(tmp_path / "chat.jsonl", [row, {**row, "id": 8}, row])
    with pytest.raises(DataError) as err:
        existing.score_rmbench_results(path)
    assert (err.value.line, err.value.field) == (3, "id") and "repeats line 1" in str(err.value)


def test_rmbench_nan_scores_are_counted_and_all_nan_is_an_error(tmp_path: Path, capsys):
    nan = float("nan")
    good = {"score_chosen": [1, 1, 1], "score_rejected": [0, 0, 0]}
    path = tmp_path / "chat.json"
    nan_row = {"id": 2, "score_chosen": [nan, 1, 1], "score_rejected": [0, 0, 0]}
    path.write_text(json.dumps([{"id": 1, **good}, nan_row]))
    result = existing.score_rmbench_results(path)
    assert result["issues"] == {"rows with a NaN score (it loses every comparison)": 1}
    assert result["metrics"]["domains"]["chat"]["avg"] == pytest.approx((100 + 200 / 3) / 2)  # row 2: chosen 0 loses
    assert main(["--benchmark", "rmbench", "--scores", str(path)]) == 0
    assert "| rows with a NaN score (it loses every comparison) | 1 |" in capsys.readouterr().out
    path.write_text(json.dumps([{"id": k, "score_chosen": [nan] * 3, "score_rejected": [nan] * 3} for k in range(2)]))
    with pytest.raises(DataError, match="every one of the 2 rows has a NaN score"):
        existing.score_rmbench_results(path)


def test_judgebench_judgment_without_decision_names_line_and_field(tmp_path: Path):
    broken = judgebench_record("mmlu-pro-law", "B>A", "B>A", "A>B")
    del broken["judgments"][1]["decision"]
    path = jsonl(tmp_path / "out.jsonl", [judgebench_record("mmlu-pro-law", "A>B", "A>B", "B>A"), broken])
    with pytest.raises(DataError, match=r"out.jsonl, line 2: field 'judgments\[1\].decision': missing"):
        existing.score_judgebench_outputs(path)


@pytest.mark.parametrize("label", ["A", "B>>A", "chosen", None])
def test_judgebench_label_in_another_format_is_an_error(tmp_path: Path, label, capsys):
    path = jsonl(tmp_path / "out.jsonl", [judgebench_record("mmlu-pro-law", "A>B", "A>B", "B>A"),
                                          {**judgebench_record("livecodebench", "A>B", "A>B", "B>A"), "label": label}])
    with pytest.raises(DataError) as err:
        existing.score_judgebench_outputs(path)
    assert (err.value.line, err.value.field) == (2, "label") and repr(label) in str(err.value)
    assert main(["--benchmark", "judgebench", "--judgments", str(path)]) == 2
    assert f"{path}, line 2: field 'label'" in capsys.readouterr().err


def test_judgebench_unknown_and_failed_decisions_are_counted_in_the_report(tmp_path: Path, capsys):
    path = jsonl(
        tmp_path / "out.jsonl",
        [
            judgebench_record("mmlu-pro-law", "A>B", "A>B", "B>A"),  # +2
            judgebench_record("livecodebench", "A>B", "A", "tie"),  # two unknown decisions: 0
            judgebench_record("livebench-math", "B>A", "B>A", None, null_second=True),  # +1, one failure
        ],
    )
    result = existing.score_judgebench_outputs(path)
    assert result["summary"]["overall (over pairs, JudgeBench)"] == pytest.approx(200 / 3)  # unknown score 0
    assert (result["metrics"]["unknown_decisions"], result["metrics"]["null_decisions"]) == (2, 1)
    assert main(["--benchmark", "judgebench", "--judgments", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| unknown decisions (not one of A>B, B>A, A=B; scored 0) | 2 |" in out
    assert "| failed judgments (null decision, scored 0) | 1 |" in out


def test_judgebench_duplicate_pair_ids_name_both_lines(tmp_path: Path):
    record = judgebench_record("mmlu-pro-law", "A>B", "A>B", "B>A")
    path = jsonl(tmp_path / "out.jsonl", [record, judgebench_record("livecodebench", "A>B", "A>B", "B>A"), record])
    with pytest.raises(DataError) as err:
        existing.score_judgebench_outputs(path)
    assert (err.value.line, err.value.field) == (3, "pair_id") and "repeats line 1" in str(err.value)


def rewardbench_file_and_verdicts(tmp_path: Path) -> tuple[Path, list[PreferencePair], list[Verdict]]:
    """Two xstest pairs: the first judged right, the second a tie."""
    path = jsonl(
        tmp_path / "rb.jsonl",
        [{"id": k, "prompt": f"q{k}", "chosen": "good", "rejected": "bad", "subset": "xstest-should-respond"}
         for k in range(2)],
    )
    pairs = workloads.load_workload("rewardbench", [path])
    right = pairs[0].label
    return path, pairs, [Verdict(right, 1.0, [Vote(right, "")]), Verdict(None, 0.0, [Vote(None, "")])]


@pytest.mark.parametrize(
    ("settings", "score"), [({"model": "rm", "scorer": {}}, 50.0), ({"model": "rr", "judge": {}}, 75.0)]
)
def test_rescored_verdict_file_uses_the_tie_credit_of_its_judge_kind(tmp_path: Path, settings, score):
    data, pairs, verdicts = rewardbench_file_and_verdicts(tmp_path)
    cache = VerdictCache(tmp_path / "run" / "verdicts.jsonl", settings)
    cache.add(zip(pairs, verdicts))
    live = workloads.report("rewardbench", pairs, verdicts, 0.0 if "scorer" in settings else 0.5)
    rescored = existing.score_verdict_file("rewardbench", cache.path, [str(data)])
    assert rescored["summary"] == live["summary"]
    assert rescored["metrics"]["subsets"]["xstest-should-respond"]["accuracy"] == score
    assert rescored["run"]["judge_kind"] == ("scalar" if "scorer" in settings else "generative")


def test_verdict_file_without_judge_kind_or_with_two_kinds_is_an_error_for_rewardbench(tmp_path: Path):
    data, pairs, verdicts = rewardbench_file_and_verdicts(tmp_path)
    path = tmp_path / "verdicts.jsonl"
    jsonl(path, [{"id": p.id, "verdict": v.to_dict()} for p, v in zip(pairs, verdicts)])
    with pytest.raises(DataError, match="field 'settings'.*scalar"):
        existing.score_verdict_file("rewardbench", path, [str(data)])
    kinds = ("judge", "scorer")
    jsonl(path, [{"id": p.id, "settings": {s: {}}, "verdict": v.to_dict()} for p, v, s in zip(pairs, verdicts, kinds)])
    with pytest.raises(DataError, match="line 2: field 'settings': a scalar judge, but line 1 is a generative one"):
        existing.score_verdict_file("rewardbench", path, [str(data)])


def test_verdict_file_duplicates_and_changed_data_are_not_scored(tmp_path: Path):
    import dataclasses

    data, pairs, verdicts = rewardbench_file_and_verdicts(tmp_path)
    path = tmp_path / "verdicts.jsonl"
    jsonl(path, [{"id": pairs[0].id, "verdict": v.to_dict()} for v in verdicts])
    with pytest.raises(DataError, match=f"line 2: field 'id': '{pairs[0].id}' repeats line 1"):
        existing.load_verdict_file(path)
    # a run on other content under the same ids: its verdicts are not taken for this data
    cache = VerdictCache(tmp_path / "run" / "verdicts.jsonl", {"judge": {}})
    cache.add(zip([dataclasses.replace(p, question="other") for p in pairs], verdicts))
    with pytest.raises(ValueError, match="no verdict for 2 of 2 pairs"):
        existing.score_verdict_file("rewardbench", cache.path, [str(data)])
