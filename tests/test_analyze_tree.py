"""Decision-tree preference analysis (gram_rr.analyze): fits, JSON trees, pickle refusal, scorer, CLI, errors."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gram_rr.analyze import TreeConfig, TreeScorer, load_tree, write_attributes
from gram_rr.analyze.attributes import load_attributes
from gram_rr.analyze.cli import main
from gram_rr.analyze.dataset import build_dataset, position_summary
from gram_rr.analyze.features import FeatureSpec, build_spec
from gram_rr.analyze.fit import analyze
from gram_rr.analyze.judgments import load_judge_verdicts
from gram_rr.analyze.rules import rules_text
from gram_rr.analyze.tree_model import StoredTree
from gram_rr.data import DataError, PreferencePair, write_pairs
from gram_rr.eval.pairs import pair_metrics
from gram_rr.eval.runner import judge_pairs
from gram_rr.protocols import PairJudge
from gram_rr.verdict import Verdict, Vote

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("alpha", "beta", "gamma")


def words(chars: list[int]) -> str:
    """A response of ``len(chars)`` words with these character counts."""
    return " ".join("x" * n for n in chars)


def longer_wins_pairs(n: int, seed: int = 0) -> list[PreferencePair]:
    """Three-word responses of different character lengths (words_diff is always 0); the longer wins;
    the family is noise."""
    rng = random.Random(seed)
    pairs = []
    for k in range(n):
        a, b = [rng.randint(1, 12) for _ in range(3)], [rng.randint(1, 12) for _ in range(3)]
        if sum(a) == sum(b):
            a[0] += 1
        pairs.append(PreferencePair(
            id=f"p{k:03d}", question="q?", response_a=words(a), response_b=words(b),
            label="A" if sum(a) > sum(b) else "B", metadata={"family": rng.choice(FAMILIES)},
        ))
    return pairs


def fit(pairs, groups, target="gold", verdicts=None, attributes=None, **config):
    spec = build_spec(groups, pairs, ["family"], attributes)
    data = build_dataset(pairs, spec, target, verdicts, attributes)
    return data, analyze(data, TreeConfig(**config))


def root_feature(tree: StoredTree) -> str:
    return tree.features[tree.feature[0]]


def write_stage_verdicts(path: Path, pairs, pick) -> Path:
    """A self-training stage's verdicts.jsonl: one vote per order, ``pick(pair, swapped)`` -> the
    original letter the judge chose in that order."""
    with open(path, "w", encoding="utf-8") as out:
        for pair in pairs:
            votes = [Vote(answer=pick(pair, s), rationale="r", swapped=s, probability=None) for s in (False, True)]
            winner = votes[0].answer if votes[0].answer == votes[1].answer else None
            verdict = Verdict(winner=winner, confidence=1.0 if winner else 0.0, votes=votes)
            out.write(json.dumps({"id": pair.id, "label": pair.label, **verdict.to_dict()}) + "\n")
    return path


def test_longer_wins_roots_on_length_and_holds_out():
    data, result = fit(longer_wins_pairs(200), ["length", "metadata"], max_depth=3)
    assert root_feature(result.tree) == "chars_diff"
    assert abs(result.tree.threshold[0]) < 3  # near 0: longer-than
    assert result.metrics["test"]["accuracy"] >= 95.0
    assert result.metrics["cross_validated_accuracy"]["mean"] >= 90.0
    assert result.test_pairs == 50 and result.train_pairs == 150
    assert max(result.importances, key=result.importances.get) == "chars_diff"


def test_split_keeps_a_pairs_orders_together_and_is_seeded():
    pairs = longer_wins_pairs(40)
    spec = FeatureSpec(("length",))
    data = build_dataset(pairs, spec, "gold")
    a, b = analyze(data, TreeConfig(seed=3)), analyze(data, TreeConfig(seed=3))
    assert a.tree.to_dict() == b.tree.to_dict() and a.metrics == b.metrics


def test_position_biased_judge_roots_on_gold_position(tmp_path):
    """A judge that picks the first shown response whenever the gold winner is first, and also in
    60% of the orders where it is second: the tree splits on gold_first and says 'first' on both sides."""
    pairs = longer_wins_pairs(160, seed=1)
    rng = random.Random(5)
    biased = {(p.id, s): rng.random() < 0.6 for p in pairs for s in (False, True)}

    def pick(pair, swapped):
        shown_first = "B" if swapped else "A"
        return shown_first if pair.label == shown_first or biased[(pair.id, swapped)] else pair.label

    verdicts = load_judge_verdicts(write_stage_verdicts(tmp_path / "verdicts.jsonl", pairs, pick))
    data, result = fit(pairs, ["position", "metadata"], target="judge", verdicts=verdicts, max_depth=1)
    assert len(data.rows) == 2 * len(pairs)
    tree = result.tree
    assert root_feature(tree) == "gold_first"
    assert [tree.predict([0.0] + [0.0] * 3), tree.predict([1.0] + [0.0] * 3)] == [1, 1]
    assert tree.proba_first([1.0, 0, 0, 0]) == 1.0 and 0.45 < tree.proba_first([0.0, 0, 0, 0]) < 0.75
    summary = position_summary(pairs, verdicts)
    assert summary["picks_first_when_gold_first"] == 100.0
    assert 50.0 < summary["picks_first_when_gold_second"] < 70.0
    same = sum(biased[(p.id, p.label == "A")] for p in pairs)  # first also where the gold winner is second
    assert summary["pairs_both_orders"] == 160 and summary["same_position_both_orders"] == 100.0 * same / 160
    assert "gold winner shown first" in rules_text(tree)


def test_judge_rows_follow_the_shown_order(tmp_path):
    """Swapped votes become rows with B first: features flip sign, the target is the pick of the shown first."""
    pairs = longer_wins_pairs(4)
    path = write_stage_verdicts(tmp_path / "v.jsonl", pairs, lambda pair, swapped: pair.label)  # always gold
    data = build_dataset(pairs, FeatureSpec(("length", "position")), "judge", load_judge_verdicts(path))
    by_key = {(r.pair_id, r.swapped): r for r in data.rows}
    for pair in pairs:
        original, swapped = by_key[(pair.id, False)], by_key[(pair.id, True)]
        assert original.features[0] == len(pair.response_a) - len(pair.response_b) == -swapped.features[0]
        assert original.target == original.features[2] == int(pair.label == "A")
        assert swapped.target == swapped.features[2] == int(pair.label == "B")


def test_attribute_scores_explain_gold(tmp_path):
    pairs = longer_wins_pairs(120, seed=2)
    rng = random.Random(0)
    rows = []
    for pair in pairs:
        good, bad = rng.uniform(2, 4), rng.uniform(0, 2)
        a, b = (good, bad) if rng.random() < 0.5 else (bad, good)  # independent of the lengths
        rows.append((pair.id, {"correctness": a, "verbosity": rng.uniform(0, 4)},
                     {"correctness": b, "verbosity": rng.uniform(0, 4)}))
        pair.label = "A" if a > b else "B"  # the more correct response wins, whatever its length
    attributes = load_attributes(write_attributes(tmp_path / "attributes.jsonl", rows, model="synthetic"))
    assert attributes.names == ("correctness", "verbosity")
    _, result = fit(pairs, ["length", "attributes"], attributes=attributes)
    assert root_feature(result.tree) == "attr:correctness"
    assert result.metrics["test"]["accuracy"] == 100.0


def test_json_round_trip_predicts_exactly_as_sklearn(tmp_path):
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=400), rng.integers(-5, 6, size=400), rng.normal(size=400) * 1e-3])
    y = ((x[:, 0] + 0.3 * x[:, 1] + 300 * x[:, 2] + rng.normal(scale=0.5, size=400)) > 0).astype(int)
    estimator = DecisionTreeClassifier(max_depth=6, random_state=0).fit(x, y)
    spec = FeatureSpec(("length", "probability"))  # three columns: chars_diff, words_diff, probability
    path = StoredTree.from_sklearn(estimator, spec, "gold").save(tmp_path / "tree.json")
    tree = load_tree(path)
    thresholds = estimator.tree_.threshold[estimator.tree_.feature >= 0]
    features = estimator.tree_.feature[estimator.tree_.feature >= 0]
    probes = [rng.normal(size=3) for _ in range(2000)] + list(x)
    for t, f in zip(thresholds, features):  # points on and next to every threshold, where float32 rounding decides
        for value in (t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf), np.float32(t)):
            point = x[0].copy()
            point[f] = value
            probes.append(point)
    probes = np.array(probes)
    assert [tree.predict(p) for p in probes] == estimator.predict(probes).tolist()
    assert [tree.proba_first(p) for p in probes] == estimator.predict_proba(probes)[:, 1].tolist()
    assert tree.depth() == estimator.get_depth()


def test_pickles_are_refused(tmp_path):
    released = tmp_path / "decision_tree.pkl"
    released.write_bytes(pickle.dumps({"a": "tree"}))
    disguised = tmp_path / "tree.json"
    disguised.write_bytes(pickle.dumps({"a": "tree"}))
    for path in (released, disguised):
        with pytest.raises(DataError, match="never loaded: unpickling runs whatever code") as err:
            load_tree(path)
        assert str(path) in str(err.value) and "tree.json" in str(err.value)
    with pytest.raises(DataError, match="never loaded"):
        load_tree(tmp_path / "missing.pkl")  # refused by name, before looking for it


def test_malformed_tree_json_names_the_field(tmp_path):
    pairs = longer_wins_pairs(40)
    _, result = fit(pairs, ["length"])
    data = result.tree.to_dict()
    data["nodes"]["left"][0] = 0  # a cycle
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"bad\.json: field 'nodes\.left': node 0"):
        load_tree(path)


def test_tree_scorer_judges_pairs_like_other_scorers():
    pairs = longer_wins_pairs(200)
    _, result = fit(pairs, ["length"], max_depth=2)
    scorer = TreeScorer(result.tree)
    fresh = longer_wins_pairs(60, seed=9)
    verdicts = scorer.compare_many(fresh)
    assert all(len(v.votes) == 2 and v.votes[1].swapped for v in verdicts)
    assert all(v.votes[0].rationale.startswith("IF ") for v in verdicts)
    assert pair_metrics(fresh, verdicts)["accuracy"] >= 90.0
    assert isinstance(scorer, PairJudge)
    assert [v.probability for v in judge_pairs(scorer, fresh, batch_size=7)] == [v.probability for v in verdicts]
    one = scorer.predict_proba(fresh[0])
    assert one == verdicts[0].probability and (one > 0.5) == (fresh[0].label == "A")
    long, short = "x" * 30 + " y y", "x y y"
    assert scorer.predict_proba(("q", long, short)) > 0.5 > scorer.predict_proba(("q", short, long))
    assert scorer.rank("q", ["a b c", "a" * 40 + " b c", "aaaaaaaa b c"]) == [1, 2, 0]
    assert scorer.best_of_n("q", ["a b c", "a" * 40 + " b c"]) == 1


def test_tree_scorer_refuses_what_it_cannot_compute(tmp_path):
    pairs = longer_wins_pairs(40)
    path = write_stage_verdicts(tmp_path / "v.jsonl", pairs, lambda pair, swapped: pair.label)
    _, judge_tree = fit(pairs, ["position"], target="judge", verdicts=load_judge_verdicts(path))
    with pytest.raises(ValueError, match="reads the gold winner's position"):
        TreeScorer(judge_tree.tree)
    _, metadata_tree = fit(pairs, ["length", "metadata"])
    with pytest.raises(ValueError, match="pass PreferencePair objects"):
        TreeScorer(metadata_tree.tree).compare_many([("q", "a", "b")])


def test_eval_verdict_file_format_is_read(tmp_path):
    """gram_rr.eval's verdicts.jsonl ({id, key, settings, verdict}) gives the same rows as a stage file."""
    from gram_rr.eval.cache import VerdictCache

    pairs = longer_wins_pairs(30)
    pick = lambda pair, swapped: "B" if swapped else "A"  # noqa: E731 - always the first shown
    stage = load_judge_verdicts(write_stage_verdicts(tmp_path / "stage.jsonl", pairs, pick))
    cache = VerdictCache(tmp_path / "eval" / "verdicts.jsonl", {"model": "m", "judge": {}})
    cache.add((p, stage.get(p)) for p in pairs)
    spec = FeatureSpec(("length", "position"))
    rows = [build_dataset(pairs, spec, "judge", load_judge_verdicts(path)).rows
            for path in (tmp_path / "stage.jsonl", tmp_path / "eval" / "verdicts.jsonl")]
    assert rows[0] == rows[1] and all(r.target == 1 for r in rows[0])


def test_cli_end_to_end_writes_rules_picture_and_report(tmp_path):
    pairs_file = write_pairs(tmp_path / "pairs.jsonl", longer_wins_pairs(48))
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "gram_rr.analyze", "tree", "--pairs", str(pairs_file), "--out", str(out),
            "--max-depth", "2", "--seed", "1"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "IF chars_diff" in done.stdout and "| test | 12 |" in done.stdout
    assert (out / "tree.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rules = (out / "rules.txt").read_text().splitlines()
    assert rules and all(line.startswith("IF ") for line in rules)
    report = json.loads((out / "report.json").read_text())
    assert report["target"] == "gold" and report["metrics"]["test"]["rows"] == 12
    assert report["config"]["max_depth"] == 2 and report["rules"] == rules
    assert "![tree](tree.png)" in (out / "report.md").read_text()
    assert load_tree(out / "tree.json").depth() <= 2

    applied = tmp_path / "applied"
    assert main(["tree", "--pairs", str(pairs_file), "--tree", str(out / "tree.json"), "--out", str(applied)]) == 0
    again = json.loads((applied / "report.json").read_text())
    assert again["metrics"]["all pairs"]["rows"] == 48 and (applied / "rules.txt").read_text().splitlines() == rules


def test_cli_refuses_a_pickle_with_one_line_and_exit_2(tmp_path):
    pairs_file = write_pairs(tmp_path / "pairs.jsonl", longer_wins_pairs(10))
    released = tmp_path / "decision_tree.pkl"
    released.write_bytes(pickle.dumps([1, 2]))
    argv = [sys.executable, "-m", "gram_rr.analyze", "tree", "--pairs", str(pairs_file), "--tree", str(released)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: {released}: a pickled tree") and "never loaded" in done.stderr


@pytest.mark.parametrize("line, field, message", [
    ({"id": "p001", "attributes_a": {"correctness": 1.0}}, "attributes_b", "missing field"),
    ({"id": "p001", "attributes_a": {"correctness": 1.0}, "attributes_b": {"correctness": "high"}},
     "attributes_b.correctness", "expected a finite number"),
    ({"id": "p001", "attributes_a": {"correctness": 1.0}, "attributes_b": {"helpfulness": 1.0}},
     "attributes_b", "names ['helpfulness'], but the first line has ['correctness']"),
    ({"id": "p000", "attributes_a": {"correctness": 1.0}, "attributes_b": {"correctness": 2.0}}, "id",
     "'p000' repeats (first at line 1)"),
    ({"id": "p001", "attributes_a": {"correctness": 1.0}, "attributes_b": {"correctness": 2.0}, "score": 1},
     "score", "unknown field"),
])
def test_bad_attribute_lines_name_file_line_and_field(tmp_path, line, field, message):
    path = tmp_path / "attributes.jsonl"
    first = {"id": "p000", "attributes_a": {"correctness": 1.0}, "attributes_b": {"correctness": 0.0}}
    path.write_text(json.dumps(first) + "\n" + json.dumps(line) + "\n")
    with pytest.raises(DataError) as err:
        load_attributes(path)
    assert str(err.value).startswith(f"{path}, line 2: field '{field}': {message}")


def test_bad_verdict_files_name_file_line_and_field(tmp_path):
    pairs = longer_wins_pairs(3)
    path = write_stage_verdicts(tmp_path / "v.jsonl", pairs, lambda pair, swapped: pair.label)
    lines = path.read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines[:2] + ["{not json"]) + "\n")
    with pytest.raises(DataError, match=rf"{broken}, line 3: invalid JSON"):
        load_judge_verdicts(broken)
    other = [dict(json.loads(line)) for line in lines]
    other[1]["label"] = "B" if other[1]["label"] == "A" else "A"
    relabelled = tmp_path / "relabelled.jsonl"
    relabelled.write_text("".join(json.dumps(r) + "\n" for r in other))
    with pytest.raises(DataError, match=rf"{relabelled}, line 2: field 'label': .* judged on other data"):
        build_dataset(pairs, FeatureSpec(("length",)), "judge", load_judge_verdicts(relabelled))
    alien = tmp_path / "alien.jsonl"
    alien.write_text('{"id": 1, "score": 3}\n')
    with pytest.raises(DataError, match=rf"{alien}, line 1: not a verdict file"):
        load_judge_verdicts(alien)


def test_cli_input_errors_exit_2_naming_the_problem(tmp_path, capsys):
    from gram_rr.cli_errors import run_cli

    pairs_file = write_pairs(tmp_path / "pairs.jsonl", longer_wins_pairs(10))
    bad_attributes = tmp_path / "attributes.jsonl"
    bad_attributes.write_text('{"id": "p000", "attributes_a": {"c": 1}, "attributes_b": {"c": null}}\n')
    cases = [
        (["--attributes", str(bad_attributes)], f"{bad_attributes}, line 1: field 'attributes_b.c'"),
        (["--features", "position"], "the gold winner's position is the label itself"),
        (["--features", "probability"], "need --verdicts FILE"),
        (["--features", "lengths"], "unknown feature group(s) ['lengths']"),
        (["--target", "judge"], "--target judge needs --verdicts FILE"),
        (["--max-depth", "0"], "max_depth: 0 is out of range"),
    ]
    for extra, message in cases:
        code = run_cli(lambda: main(["tree", "--pairs", str(pairs_file), *extra]))
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.startswith("error: "), (extra, err)
