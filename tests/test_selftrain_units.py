"""Self-training pieces without a model: filters, proof selection, run directory, report."""

import dataclasses
import json
import os
from pathlib import Path

import pytest

from gram_rr.data.records import PreferencePair
from gram_rr.engines.base import Completion, SamplingConfig
from gram_rr.eval.calibration import calibration_metrics
from gram_rr.parsing import format_judgment
from gram_rr.selftrain.filters import balance_labels, check_proofs, contradicts_label, drop_label_surplus, keep_prediction
from gram_rr.selftrain.proofs import prove, selection_score
from gram_rr.selftrain.recipe import FilterConfig, PredictConfig, ProofConfig
from gram_rr.selftrain.report import last_calibration, round_rows, write_report
from gram_rr.selftrain.rundir import RecipeChangedError, RunDirectory
from gram_rr.verdict import Vote

RATIONALE = "Feedback: A adds 3 and 4 to get 7, B gets 8.\n\nComparision: 3 + 4 = 7.\n\nConclusion: A."


def pair(i=0, label="A", a="3 + 4 = 7", b="3 + 4 = 8"):
    return PreferencePair(id=f"p{i}", question=f"What is 3 + 4? ({i})", response_a=a, response_b=b, label=label)


def completion(text, tokens=40, finish="stop", logprob=None):
    return Completion(text=text, num_tokens=tokens, finish_reason=finish, logprob=logprob)


def votes(original, swapped=()):
    return [Vote(a, "", swapped=False) for a in original] + [Vote(a, "", swapped=True) for a in swapped]


def verdict(vs):
    from gram_rr.judge import combine_votes

    return combine_votes(vs)


def test_keep_prediction_rules():
    config = PredictConfig(votes=2, both_orders=True, min_vote_share=0.75)
    assert keep_prediction(verdict(votes("AA", "AA")), config) is None
    assert keep_prediction(verdict(votes("AA", "AB")), config) == "orders_disagree"  # swapped order is split
    assert keep_prediction(verdict(votes("AA", "BB")), config) == "no_majority"
    assert keep_prediction(verdict(votes("AA", "A") + [Vote(None, "", True)]), config) is None
    assert keep_prediction(verdict(votes("AA", [None, None])), config) == "low_vote_share"  # abstentions count against
    config = PredictConfig(votes=3, both_orders=True, min_vote_share=0.5)
    assert keep_prediction(verdict(votes("AAA", "AAB")), config) is None  # 5/6, both orders say A
    assert keep_prediction(verdict(votes("AAA", "BBA")), config) == "orders_disagree"  # 4/6 A, but swapped majority is B


def test_balance_labels_swaps_positions_and_flips_labels():
    pairs = [pair(i, "A") for i in range(9)] + [pair(9, "B")]
    balanced = balance_labels(pairs, seed=0)
    labels = [p.label for p in balanced]
    assert abs(labels.count("A") - labels.count("B")) <= 1
    for before, after in zip(pairs, balanced):
        if after.label != before.label:
            assert (after.response_a, after.response_b) == (before.response_b, before.response_a)
    assert balance_labels(pairs, seed=0) == balanced  # deterministic


def test_balance_labels_flips_gold_labels_and_rationales_with_the_swap():
    pairs = [dataclasses.replace(pair(i, "A"), metadata={"gold_label": "AB"[i % 2]}, rationale="Response A is right.")
             for i in range(8)]
    pairs[0] = dataclasses.replace(pairs[0], rationale="A is right.")  # cannot be swapped safely: stays
    balanced = balance_labels(pairs, seed=0)
    assert [p.label for p in balanced].count("B") == 4 and balanced[0] == pairs[0]
    for before, after in zip(pairs, balanced):
        if after.label != before.label:
            assert after.metadata["gold_label"] != before.metadata["gold_label"]
            assert after.rationale == "Response B is right." and after.id == before.id + "#swapped"
        else:
            assert after == before


def test_check_proofs_applies_each_rule():
    long_a = "Step one: take three apples and add four more apples, which gives seven apples in total."
    p = pair(a=long_a)
    good = format_judgment(RATIONALE, "A")
    samples = [
        completion("no tags at all"),
        completion(format_judgment(RATIONALE, "B")),
        completion(format_judgment("Response A is wrong: it adds badly. Response B is correct.", "A")),
        completion(format_judgment("Response B is wrong: it says 8. Response A says 7, which is correct.", "A")),
        completion(good, tokens=500),
        completion(good, finish="length"),
        completion(format_judgment("A wins.", "A")),
        completion(format_judgment(f"A says: {long_a}", "A")),
        completion(good),
        completion(good),
    ]
    reasons = [c.rejected_by for c in check_proofs(p, samples, FilterConfig(max_proof_tokens=200, copy_min_chars=40))]
    assert reasons == [
        "unparsable", "wrong_answer", "contradicts_label", "names_b_first", "too_long", "too_long", "too_short",
        "copies_response", None, "duplicate",
    ]
    b_first = completion(format_judgment("Response B is wrong: it says 8. Response A says 7, which is correct.", "A"))
    assert check_proofs(p, [b_first], FilterConfig(a_first=False))[0].rejected_by is None


def test_drop_label_surplus_keeps_order_and_balances_without_swapping():
    pairs = [pair(i, "AAB"[i % 3]) for i in range(12)]  # 8 A, 4 B
    kept = drop_label_surplus(pairs, seed=0)
    assert [p.label for p in kept].count("A") == [p.label for p in kept].count("B") == 4
    assert [p for p in pairs if p in kept] == kept  # a subsequence: nothing swapped or reordered
    assert all(p in kept for p in pairs if p.label == "B")
    assert drop_label_surplus(pairs, seed=0) == kept and drop_label_surplus(kept, seed=1) == kept


def test_drop_label_surplus_balances_every_group():
    """Balanced overall but not per group (refusal pairs all A, keyword pairs all B): by group, both lose their surplus."""
    family = lambda p: p.metadata["family"]  # noqa: E731
    pairs = [dataclasses.replace(pair(i, label), metadata={"family": name})
             for i, (name, label) in enumerate([("refusal", "A")] * 5 + [("refusal", "B")] * 2 + [("keyword", "B")] * 5
                                               + [("keyword", "A")] * 2)]
    assert drop_label_surplus(pairs, seed=0) == pairs  # 7 A, 7 B: nothing to drop overall
    kept = drop_label_surplus(pairs, seed=0, group_of=family)
    assert sorted((family(p), p.label) for p in kept) == [("keyword", "A")] * 2 + [("keyword", "B")] * 2 + [
        ("refusal", "A")] * 2 + [("refusal", "B")] * 2
    assert [p for p in pairs if p in kept] == kept


@pytest.mark.parametrize(
    ("rationale", "label", "contradicts"),
    [
        ("Feedback:\nResponse A is correct: it uses the word. Response B is wrong.\n\nConclusion:\nResponse A is better.", "A", False),
        ("Response A is correct: it uses the word. Response B is wrong.\nConclusion:\nResponse B is better.", "B", True),
        ("Response B is correct. Response A is wrong.\nConclusion: Response A is better.", "A", True),
        ("Assistant B's answer is the better one; Assistant A's answer is incorrect.", "B", False),
        ("Assistant B's answer is the better one.", "A", True),
        ("Response A is not correct, and response b is right.", "B", False),  # "is not" is no claim; case-insensitive
        ("Neither names a position.", "A", False),
    ],
)
def test_contradicts_label_reads_verdicts_on_positions(rationale: str, label: str, contradicts: bool) -> None:
    assert contradicts_label(rationale, label) is contradicts


def test_selection_score_prefers_likely_in_context_unlikely_alone():
    assert selection_score(-10.0, -100.0) == pytest.approx(-0.1)
    assert selection_score(-10.0, -100.0) > selection_score(-50.0, -100.0)
    assert selection_score(-10.0, -100.0) > selection_score(-10.0, -20.0)
    with pytest.raises(ValueError):
        selection_score(-1.0, 0.0)


class ScriptedProver:
    """Returns fixed proofs and log-probabilities; records the calls."""

    def __init__(self, outputs, conditional, unconditional):
        self.outputs, self.conditional, self.unconditional = outputs, conditional, unconditional
        self.calls = []

    def generate(self, conversations, sampling: SamplingConfig):
        self.calls.append(("generate", len(conversations), sampling.n))
        return self.outputs

    def score(self, conversations, continuations):
        table = self.unconditional if conversations[0] is None else self.conditional
        self.calls.append(("score", len(continuations)))
        return [table[text] for text in continuations]

    def close(self):
        pass


def test_prove_keeps_best_scored_valid_proof_in_batched_calls():
    p1, p2 = pair(1, "A"), pair(2, "B", a="3 + 4 = 8", b="3 + 4 = 7")
    x = format_judgment("Feedback: x. " + RATIONALE, "A")
    y = format_judgment("Feedback: y. " + RATIONALE, "A")
    z = format_judgment("Feedback: z. " + RATIONALE, "B")
    outputs = [[completion(x), completion(y)], [completion(z), completion(format_judgment(RATIONALE, "A"))]]
    prover = ScriptedProver(outputs, conditional={x: -20.0, y: -10.0, z: -5.0}, unconditional={x: -40.0, y: -40.0, z: -50.0})
    result = prove([p1, p2], prover, ProofConfig(samples=2), FilterConfig())
    assert prover.calls == [("generate", 2, 2), ("score", 3), ("score", 3)]
    assert [p.id for p in result.pairs] == ["p1", "p2"]
    assert result.pairs[0].rationale.startswith("Feedback: y.")  # -10/-40 beats -20/-40
    assert result.pairs[0].metadata["proof_score"] == pytest.approx(-0.25)
    assert result.rejected_samples["wrong_answer"] == 1 and result.pairs_without_proof == 0


def test_prove_takes_log_p_z_given_pair_from_the_samples(tmp_path):
    """Engines report each sample's log-probability: only log p(z) needs a scoring pass."""
    p1 = pair(1, "A")
    x = format_judgment("Feedback: x. " + RATIONALE, "A")
    y = format_judgment("Feedback: y. " + RATIONALE, "A")
    prover = ScriptedProver([[completion(x, logprob=-30.0), completion(y, logprob=-8.0)]], conditional={},
                            unconditional={x: -40.0, y: -40.0})
    result = prove([p1], prover, ProofConfig(samples=2), FilterConfig())
    assert prover.calls == [("generate", 1, 2), ("score", 2)]
    assert result.pairs[0].rationale.startswith("Feedback: y.")
    assert result.pairs[0].metadata["proof_score"] == pytest.approx(-0.2)


@pytest.mark.parametrize("max_same_proof, kept", [(1, ["p1"]), (2, ["p1", "p2"]), (3, ["p1", "p2", "p3"])])
def test_prove_keeps_one_proof_for_at_most_max_same_proof_pairs(max_same_proof, kept):
    pairs = [pair(i, "A") for i in (1, 2, 3)]
    same = format_judgment("Feedback: the same. " + RATIONALE, "A")
    prover = ScriptedProver([[completion(same)]] * 3, conditional={same: -10.0}, unconditional={same: -40.0})
    result = prove(pairs, prover, ProofConfig(samples=1), FilterConfig(max_same_proof=max_same_proof))
    assert [p.id for p in result.pairs] == kept
    assert result.rejected_samples["duplicate"] == 3 - len(kept) == result.pairs_without_proof


def test_run_directory_paths_are_absolute(tmp_path, monkeypatch):
    """Stage paths go to Ray workers, whose working directory is not the driver's."""
    monkeypatch.chdir(tmp_path)
    run = RunDirectory("runs/relative", "hash1", {"a": 1})
    assert run.path("reasoner-0").is_absolute() and run.path("reasoner-0") == tmp_path / "runs/relative/stages/reasoner-0"


def test_run_directory_resume_and_recipe_change(tmp_path):
    run = RunDirectory(tmp_path / "run", "hash1", {"a": 1})
    work = run.partial("prover", keep=True)
    (work / "checkpoint").write_text("step 5")
    # interrupted: a new process sees the stage unfinished, and a training stage keeps its work
    run.close()
    run = RunDirectory(tmp_path / "run", "hash1", {"a": 1})
    assert not run.done("prover")
    work = run.partial("prover", keep=True)
    assert (work / "checkpoint").read_text() == "step 5"
    run.finish("prover", work, {"examples": 3})
    assert run.done("prover") and (run.path("prover") / "checkpoint").exists()
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["stages"]["prover"]["examples"] == 3
    # a generation stage starts clean
    stale = run.partial("proofs-0", keep=False)
    (stale / "half.jsonl").write_text("x")
    assert not (run.partial("proofs-0", keep=False) / "half.jsonl").exists()
    run.close()
    with pytest.raises(RecipeChangedError, match="--new-run"):
        RunDirectory(tmp_path / "run", "hash2", {"a": 2})
    fresh = RunDirectory(tmp_path / "run", "hash2", {"a": 2}, new_run=True)
    assert not fresh.done("prover") and len(list(tmp_path.glob("run.old-*"))) == 1


def test_report_rows_markdown_and_plot(tmp_path):
    metrics = lambda acc: {
        "metrics": {"accuracy": acc, "accuracy_both_orders": acc - 10, "abstention_rate": 5.0, "position_consistency": 80.0,
                    "accuracy_original_order": acc + 10, "accuracy_swapped_order": acc - 20},
        "seconds": 60,
    }
    manifest = {
        "stages": {
            "eval-base": metrics(40.0),
            "proofs-0": {"pairs_in": 10, "proved": 8, "proof_samples_rejected": {"wrong_answer": 2}, "seconds": 30},
            "reasoner-0": {"merged": 18, "seconds": 120},
            "eval-0": metrics(60.0),
            "predict-1": {"predicted": 10, "kept": 6, "dropped": {"low_vote_share": 4}, "pseudo_label_accuracy": 70.0, "seconds": 30},
        }
    }
    rows = round_rows(manifest)
    assert [r["round"] for r in rows] == ["untrained", "0", "1"]
    assert rows[1]["heldout_accuracy"] == 60.0 and rows[1]["minutes"] == 3.5 and rows[2]["kept"] == 6
    write_report(tmp_path, manifest)
    text = (tmp_path / "report.md").read_text()
    assert "| 0 | - | - | - | - | 10 | 8 | 18 | 60.0 | 55.0 | 50.0 | 80.0 | 5.0 | - | - | 3.5 |" in text
    assert (tmp_path / "report.png").stat().st_size > 1000
    assert json.loads((tmp_path / "report.json").read_text())["rounds"][0]["heldout_accuracy"] == 40.0
    assert not (tmp_path / "reliability.png").exists()  # no verdict had a probability


def test_report_tables_by_group_show_held_out_accuracy_and_kept_pseudo_labels(tmp_path):
    by_group = lambda keyword, capital: {"keyword": {"n": 4, "accuracy": keyword}, "capital": {"n": 2, "accuracy": capital}}
    manifest = {
        "stages": {
            "eval-0": {"metrics": {"accuracy": 50.0, "accuracy_by_group": by_group(25.0, 100.0)}, "seconds": 6},
            "predict-1": {"predicted": 8, "kept": 5, "seconds": 6,
                          "pseudo_labels_kept_by_group": {"capital": {"kept": 2, "right": 2}, "keyword": {"kept": 3, "right": 1}}},
            "eval-1": {"metrics": {"accuracy": 50.0, "accuracy_by_group": {"keyword": {"n": 4, "accuracy": 50.0}}}, "seconds": 6},
        }
    }
    write_report(tmp_path, manifest)
    text = (tmp_path / "report.md").read_text()
    assert "| round | capital (2) | keyword (4) |" in text
    assert "| 0 | 100.0 | 25.0 |" in text and "| 1 | - | 50.0 |" in text
    assert "| round | capital | keyword |" in text and "| 1 | 2 / 2 | 1 / 3 |" in text
    write_report(tmp_path, {"stages": {"eval-0": {"metrics": {"accuracy": 50.0}, "seconds": 6}}})
    assert "by group" not in (tmp_path / "report.md").read_text()


def test_report_auc_ece_columns_and_reliability_plot_of_the_last_stage(tmp_path):
    labels = ["A", "A", "B", "B"]
    stage = lambda probabilities: {
        "metrics": {"accuracy": 50.0, "probability": calibration_metrics(labels, probabilities)}, "seconds": 6,
    }
    manifest = {
        "stages": {
            "eval-base": {"metrics": {"accuracy": 50.0}, "seconds": 6},  # no probabilities: '-' columns
            "eval-0": stage([0.9, 0.4, 0.6, 0.2]),  # AUC 3/4; confidences 0.9, 0.6, 0.6, 0.8
            "eval-1": stage([0.7, None, 0.3, 0.7]),  # AUC 3/4 over the three with a probability
        }
    }
    rows = round_rows(manifest)
    assert [r["heldout_auc"] for r in rows] == [None, 0.75, 0.75]
    # eval-0 bins: 0.6 -> bin 2 (two wrong: 0.6 - 0 = 0.6), 0.8 -> bin 6 (right: 0.2), 0.9 -> bin 8 (right: 0.1)
    assert rows[1]["heldout_ece"] == pytest.approx((2 * 0.6 + 0.2 + 0.1) / 4)
    write_report(tmp_path, manifest)
    lines = (tmp_path / "report.md").read_text().splitlines()
    assert lines[2].split(" | ")[-3:] == ["AUC", "ECE", "minutes |"]
    assert lines[4].startswith("| untrained |") and lines[4].endswith("| 50.0 | - | - | - | - | - | - | - |")
    assert lines[5].startswith("| 0 |") and lines[5].endswith("| 0.750 | 0.375 | 0.1 |")
    plot = tmp_path / "reliability.png"
    assert plot.read_bytes()[:4] == b"\x89PNG" and plot.stat().st_size > 1000
    assert last_calibration(manifest)[0] == "eval-1"
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".reliability*"))


def test_run_directory_is_locked_and_names_its_holder(tmp_path):
    from gram_rr.selftrain.rundir import RunDirectoryError

    first = RunDirectory(tmp_path / "run", "hash1", {"a": 1})
    with pytest.raises(RunDirectoryError, match=f"in use by another run \\(pid {os.getpid()} on "):
        RunDirectory(tmp_path / "run", "hash1", {"a": 1})
    with pytest.raises(RunDirectoryError, match="in use"):  # --new-run never archives a run in use
        RunDirectory(tmp_path / "run", "hash1", {"a": 1}, new_run=True)
    first.close()
    RunDirectory(tmp_path / "run", "hash1", {"a": 1}).close()


@pytest.mark.parametrize("content", ["", '{"recipe_hash": "h", "stag', "[1, 2]"])
def test_unreadable_manifest_is_named_with_what_to_do(tmp_path, content):
    from gram_rr.selftrain.rundir import RunDirectoryError

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text(content)
    with pytest.raises(RunDirectoryError, match=r"manifest.json: cannot be read .*--new-run"):
        RunDirectory(tmp_path / "run", "h", {})


def test_a_second_selftrain_on_the_same_output_dir_is_refused(tmp_path):
    """A run holds its output_dir; `python -m gram_rr.selftrain` on it exits 2 naming the holder."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from gram_rr.selftrain.rundir import RunDirectory; "
         f"held = RunDirectory({str(tmp_path / 'run')!r}, 'h', {{}}); print('held', flush=True); time.sleep(60)"],
        cwd=root, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        argv = [sys.executable, "-m", "gram_rr.selftrain", "--recipe", "recipes/cpu-smoke.yaml", f"output_dir={tmp_path / 'run'}"]
        second = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 2
    assert f"in use by another run (pid {holder.pid} on " in second.stderr and "Traceback" not in second.stderr
