"""A/B swap augmentation: exact rationale rewriting, refusal of unsafe texts, the three modes, the wiring."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from gram_rr.data import load_pairs
from gram_rr.data.records import PreferencePair
from gram_rr.data.swap import SWAP_SUFFIX, augment_with_swaps, first_position, swap_pair, swap_rationale
from gram_rr.parsing import parse_judgment

ROOT = Path(__file__).resolve().parents[1]
GRAM_RR = (
    "<think>\nFeedback:\nAssistant A's response computes 26 - 19 = 7 and 7 + 4 = 11. Assistant B's response adds "
    "instead of subtracting.\n\nComparision:\nAssistant A's response is correct, B's answer is not.\n\n"
    "Conclusion:\nAssistant A's response is better.\n</think>\n<answer>\nA\n</answer>"
)
GRAM_RR_SWAPPED = (
    "<think>\nFeedback:\nAssistant B's response computes 26 - 19 = 7 and 7 + 4 = 11. Assistant A's response adds "
    "instead of subtracting.\n\nComparision:\nAssistant B's response is correct, A's answer is not.\n\n"
    "Conclusion:\nAssistant B's response is better.\n</think>\n<answer>\nB\n</answer>"
)


def pair(i=0, label="A", rationale="Response A is right: 3 + 4 = 7. Response B says 8.", **metadata):
    return PreferencePair(id=f"p{i}", question=f"What is 3 + 4? ({i})", response_a="3 + 4 = 7", response_b="3 + 4 = 8",
                          label=label, rationale=rationale, metadata=metadata)


def exchange(text: str, x: str, y: str) -> str:
    """Independent oracle for texts that name positions only as ``x``/``y``."""
    return text.replace(x, "\0").replace(y, x).replace("\0", y)


def test_every_demo_rationale_swaps_exactly_and_back():
    pairs = [p for folder in ("demo", "demo-basic", "demo-arithmetic") for p in load_pairs(ROOT / "data" / folder / "seed.jsonl")]
    assert len(pairs) == 240 + 400 + 400
    for p in pairs:
        swapped = swap_rationale(p.rationale)
        assert swapped == exchange(p.rationale, "Response A", "Response B") != p.rationale, p.id
        assert swap_rationale(swapped) == p.rationale, p.id


def test_helpsteer3_mentions():
    text = "@Response 1 is better than @Response 2 because @Response 2 misses the unit; response 1 keeps it."
    assert swap_rationale(text) == (
        "@Response 2 is better than @Response 1 because @Response 1 misses the unit; response 2 keeps it."
    )


def test_gram_rr_release_format_and_answer_block():
    assert swap_rationale(GRAM_RR) == GRAM_RR_SWAPPED and swap_rationale(GRAM_RR_SWAPPED) == GRAM_RR
    assert parse_judgment(swap_rationale(GRAM_RR)).answer == "B"
    assert swap_rationale("Fine.\n<answer>\n  B \n\n</answer>") == "Fine.\n<answer>\n  A \n\n</answer>"
    assert swap_rationale("<ANSWER>**A**</ANSWER>") == "<ANSWER>**B**</ANSWER>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Output (a) is concise; Output (b) rambles.", "Output (b) is concise; Output (a) rambles."),
        ("(A) is right and (B) is wrong.", "(B) is right and (A) is wrong."),
        ("Responses A and B both compute 7, response B explains it.", "Responses B and A both compute 7, response A explains it."),
        ("Response A's answer beats A's answer... no: B's response.", "Response B's answer beats B's answer... no: A's response."),
        ("Assistant B is wrong. Assistant A's steps hold.", "Assistant A is wrong. Assistant B's steps hold."),
    ],
)
def test_each_known_pattern_swaps(text, expected):
    assert swap_rationale(text) == expected and swap_rationale(expected) == text


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Feedback:\nResponse A is wrong. Response B is correct.", "A"),
        ("Response B is correct; Response A is wrong.", "B"),
        ("Assistant B's answer holds; Assistant A's does not.", "B"),
        ("@Response 2 is clearer than @Response 1.", "B"),
        ("Output (a) is concise; Output (b) rambles.", "A"),
        ("A's answer is 7; B's answer is 8.", "A"),
        ("Responses B and A both compute 7.", "B"),
        ("Neither names a position. <answer>A</answer>", "A"),
        ("Neither names a position.", None),
    ],
)
def test_first_position_named(text, first):
    assert first_position(text) == first


def test_text_naming_no_position_is_unchanged():
    text = "Both responses compute 3 + 4, but only one of them reaches 7; the units matter."
    assert swap_rationale(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A rectangle is 5 cm wide, so Response A is right.", "A rectangle is 5 cm wide, so Response B is right."),
        ("Response B is right. A rectangle is 5 cm wide.", "Response A is right. A rectangle is 5 cm wide."),
        ("Feedback:\nA detailed check shows Response A is right.", "Feedback:\nA detailed check shows Response B is right."),
        ('The question: "A train leaves at 5." Response B agrees.', 'The question: "A train leaves at 5." Response A agrees.'),
        ("1. A 5 cm side.\n2) A square has four.", "1. A 5 cm side.\n2) A square has four."),
    ],
)
def test_the_article_a_does_not_block_swapping(text, expected):
    assert swap_rationale(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "A is better.",
        "Response A and Response B differ, and A adds correctly.",
        "Both A and B reach 7.",
        "I prefer option A.",
        "A's reasoning holds, Response B's does not.",
        "The answer is A.",
        "Verdict: A",
        "A computes 7; Response B computes 8.",
        "Response A is right about vitamin B.",
        "The former is right.",
        "The first response is right.",
        "(A) 7, (B) 8, (C) 9: Response A picks (A).",
    ],
)
def test_unsafe_texts_are_refused(text):
    assert swap_rationale(text) is None


def test_swap_pair_exchanges_everything_and_is_an_involution():
    conversation = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                    {"role": "user", "content": "What is 3 + 4?"}]
    original = PreferencePair(id="p1", question="q", response_a="7", response_b="8", label="A",
                              rationale="Response A is right.", conversation=conversation, metadata={"gold_label": "A", "k": 1})
    swapped = swap_pair(original)
    assert (swapped.response_a, swapped.response_b, swapped.label) == ("8", "7", "B")
    assert swapped.rationale == "Response B is right." and swapped.id == "p1" + SWAP_SUFFIX
    assert swapped.metadata == {"gold_label": "B", "k": 1, "swapped": True} and swapped.conversation == conversation
    assert swap_pair(swapped) == original
    assert swap_pair(pair(rationale="A is better.")) is None
    unlabeled = swap_pair(PreferencePair(id="u", question="q", response_a="x", response_b="y"))
    assert (unlabeled.label, unlabeled.rationale, unlabeled.response_a) == (None, None, "y")


def _mixed() -> list[PreferencePair]:
    return [
        pair(0, "A"),
        pair(1, "B", rationale="Both compute 3 + 4; the second step decides."),
        pair(2, "A", rationale="A is better."),
        pair(3, "B", rationale=GRAM_RR_SWAPPED),
    ]


def test_mode_both_interleaves_each_pair_with_its_swap():
    pairs = _mixed()
    out, counts = augment_with_swaps(pairs, "both")
    assert counts == {"swapped": 2, "unchanged_no_position": 1, "not_swapped_unsafe": 1}
    assert [p.id for p in out] == ["p0", "p0#swapped", "p1", "p1#swapped", "p2", "p3", "p3#swapped"]
    assert [p.label for p in out] == ["A", "B", "B", "A", "A", "B", "A"]
    assert out[3].rationale == pairs[1].rationale and out[6].rationale == GRAM_RR


def test_mode_random_keeps_the_count_and_is_seeded():
    pairs = [pair(i, "AB"[i % 2], rationale=f"Response {'AB'[i % 2]} gets 7 ({i}).") for i in range(40)]
    out, counts = augment_with_swaps(pairs, "random", seed=3)
    assert len(out) == len(pairs) and augment_with_swaps(pairs, "random", seed=3) == (out, counts)
    flipped = [p for p in out if p.id.endswith(SWAP_SUFFIX)]
    assert 0 < len(flipped) < len(pairs) and counts == {"swapped": len(flipped), "unchanged_no_position": 0, "not_swapped_unsafe": 0}
    for before, after in zip(pairs, out):
        assert after == (swap_pair(before) if after.id.endswith(SWAP_SUFFIX) else before)
    assert augment_with_swaps(pairs, "random", seed=4)[0] != out
    unsafe, unsafe_counts = augment_with_swaps([pair(i, rationale="A is better.") for i in range(8)], "random", seed=0)
    assert [p.id for p in unsafe] == [f"p{i}" for i in range(8)] and sum(unsafe_counts.values()) == unsafe_counts["not_swapped_unsafe"] > 0


def test_mode_none_and_unknown_mode():
    pairs = _mixed()
    assert augment_with_swaps(pairs, "none") == (pairs, {"swapped": 0, "unchanged_no_position": 0, "not_swapped_unsafe": 0})
    with pytest.raises(ValueError, match="order augmentation"):
        augment_with_swaps(pairs, "twice")


@pytest.mark.parametrize("role", ["reasoner", "prover"])
def test_sft_examples_of_swaps_conclude_the_flipped_label(role):
    from gram_rr.train import sft_examples

    out, _ = augment_with_swaps(_mixed(), "both")
    rows = sft_examples(out, role)
    for p, row in zip(out, rows):
        judgment = parse_judgment(row["completion"][0]["content"])
        assert judgment.answer == p.label
        assert p.response_a in row["prompt"][-1]["content"]
    assert parse_judgment(rows[1]["completion"][0]["content"]).rationale.startswith("Response B is right")


@pytest.fixture
def trained(monkeypatch) -> list:
    """The datasets the selftrain stages hand to SFT, which only makes an empty model folder."""
    from gram_rr.selftrain import stages
    from gram_rr.training.config import TrainResult

    datasets = []

    def fake_train_sft(config, dataset, output_dir, use_ray=False):
        datasets.append(dataset)
        (Path(output_dir) / "model").mkdir(parents=True)
        return TrainResult(model_dir=str(Path(output_dir) / "model"), metrics={})

    monkeypatch.setattr(stages, "train_sft", fake_train_sft)
    return datasets


def test_training_stage_records_the_augmentation(tmp_path, trained):
    """The stage's SFT data and info, with training replaced by a recorder."""
    from gram_rr.selftrain import stages
    from gram_rr.selftrain.recipe import SelfTrainRecipe
    from gram_rr.train import TrainConfig

    for mode, examples in (("both", 7), ("none", 4)):
        pipeline = stages.Pipeline(SelfTrainRecipe(use_ray=False, order_augment=mode), run=None)
        work = tmp_path / mode
        work.mkdir()
        info = pipeline._train(work, "reasoner", "base-model", _mixed(), TrainConfig())
        assert (info["pairs"], info["examples"], len(trained[-1])) == (4, examples, examples)
        expected = {"swapped": 2, "unchanged_no_position": 1, "not_swapped_unsafe": 1} if mode == "both" else dict.fromkeys(
            ("swapped", "unchanged_no_position", "not_swapped_unsafe"), 0)
        assert info["order_augment"] == {"mode": mode, **expected}


def test_training_stage_hands_sft_the_distractors_and_records_them(tmp_path, trained):
    """reasoner_train.distractor_share: the stage trains on add_distractors' pairs (the recipe's seed) and counts them."""
    from gram_rr.data.distractors import add_distractors
    from gram_rr.selftrain import stages
    from gram_rr.selftrain.recipe import SelfTrainRecipe
    from gram_rr.train import TrainConfig
    from gram_rr.training.examples import prompt_messages

    pipeline = stages.Pipeline(SelfTrainRecipe(use_ray=False, order_augment="none"), run=None)
    pairs = load_pairs(ROOT / "data/demo/seed.jsonl")[:16]
    info = pipeline._train(tmp_path, "reasoner", "base-model", pairs, TrainConfig(distractor_share=1.0))
    expected, counts = add_distractors(pairs, 1.0, seed=pipeline.recipe.seed)
    assert info["distractors"] == counts and counts["distractors"] == 16
    assert [row["prompt"] for row in trained[-1]] == [prompt_messages(p, "reasoner") for p in expected]
    assert [row["prompt"] for row in trained[-1]] != [prompt_messages(p, "reasoner") for p in pairs]
    with pytest.raises(ValueError, match="reasoner"):
        pipeline._train(tmp_path / "p", "prover", "base-model", pairs, TrainConfig(distractor_share=0.5))


def test_train_cli_flag_augments_and_prints_counts(tmp_path, monkeypatch, capsys):
    import json

    from gram_rr import train
    from gram_rr.data import write_pairs
    from gram_rr.training.config import TrainResult

    base = ["--role", "reasoner", "--data", str(write_pairs(tmp_path / "d.jsonl", _mixed())), "--output", str(tmp_path / "o")]
    assert train.build_parser().parse_args(base).order_augment == "both"
    with pytest.raises(SystemExit):
        train.build_parser().parse_args([*base, "--order-augment", "twice"])
    sizes = []
    monkeypatch.setattr(train, "train_sft", lambda config, dataset, out: sizes.append(len(dataset)) or TrainResult(str(out), {}))
    for flag, examples in (("both", 7), ("random", 4)):
        assert train.main([*base, "--order-augment", flag]) == 0
        printed = json.loads(capsys.readouterr().out)["order_augment"]
        assert printed["mode"] == flag and printed["examples"] == sizes[-1] == examples
    assert printed == {"mode": "random", **augment_with_swaps(_mixed(), "random", seed=0)[1], "examples": 4}  # train seed 0


def test_prove_mode_pairs_each_pair_with_its_unproved_swap():
    """order_augment=prove hands the prover each pair and its swap, both without a rationale to prove afresh."""
    from gram_rr.selftrain.stages import _with_swaps

    pairs = [replace(p, metadata={"gold_label": p.label}) for p in _mixed()]
    out = list(_with_swaps(pairs))
    assert len(out) == 2 * len(pairs)
    for given, first, second in zip(pairs, out[::2], out[1::2]):
        assert first == replace(given, rationale=None)
        assert second.id == given.id + SWAP_SUFFIX and second.rationale is None
        assert (second.response_a, second.response_b) == (given.response_b, given.response_a)
        assert second.label == {"A": "B", "B": "A"}[given.label] == second.metadata["gold_label"]


def test_prove_mode_trains_the_proved_orders_as_given(tmp_path, trained):
    """With prove, the training stage adds no rewritten swaps and counts the proved ones."""
    from gram_rr.selftrain import stages
    from gram_rr.selftrain.recipe import SelfTrainRecipe
    from gram_rr.train import TrainConfig

    pairs = _mixed()
    proved = [pairs[0], replace(swap_pair(pairs[0]), rationale="Response A is worse."), pairs[1]]
    pipeline = stages.Pipeline(SelfTrainRecipe(use_ray=False, order_augment="prove"), run=None)
    info = pipeline._train(tmp_path, "reasoner", "base-model", proved, TrainConfig())
    assert (info["pairs"], info["examples"], len(trained[-1])) == (3, 3, 3)
    assert info["order_augment"] == {"mode": "prove", "proved_swaps": 1}
    assert list(trained[-1]["pair"]) == [pairs[0].id, pairs[0].id, pairs[1].id]  # a pair and its proved swap share a batch


def test_prove_mode_reasoner_drops_the_majority_labels_surplus(tmp_path, trained):
    """With prove and balance_labels, a reasoner trains on as many A as B labels: the surplus is dropped, not
    swapped; with balance_by_group, in each family (f0 holds only A labels, so none of its pairs is kept)."""
    from gram_rr.data.io import write_pairs
    from gram_rr.selftrain import stages
    from gram_rr.selftrain.recipe import SelfTrainRecipe
    from gram_rr.selftrain.rundir import RunDirectory

    proved = [PreferencePair(id=f"p{i}", question=f"q{i}", response_a="x", response_b="y", label="AAAB"[i % 4],
                             rationale="Response A is right." if i % 4 < 3 else "Response A is wrong.",
                             metadata={"family": f"f{i % 2}"}) for i in range(8)]
    cases = ((True, False, {"A": 2, "B": 2}, {"f0", "f1"}), (True, True, {"A": 2, "B": 2}, {"f1"}),
             (False, False, {"A": 6, "B": 2}, {"f0", "f1"}))
    for balance, by_group, expected, families in cases:
        run = RunDirectory(tmp_path / f"run-{balance}-{by_group}", "hash", {})
        (run.path("proofs-0")).mkdir(parents=True)
        write_pairs(run.path("proofs-0") / "proved.jsonl", proved)
        recipe = SelfTrainRecipe(use_ray=False, order_augment="prove", reasoner_includes_seed=False)
        recipe.filters.balance_labels, recipe.filters.balance_by_group = balance, by_group
        work = tmp_path / f"work-{balance}-{by_group}"
        work.mkdir()
        info = stages.Pipeline(recipe, run=run)._train_reasoner(work, 0)
        run.close()
        kept = load_pairs(work / "trained.jsonl")
        assert {label: [p.label for p in kept].count(label) for label in "AB"} == expected
        assert info["dropped_label_surplus"] == 8 - sum(expected.values()) and info["merged"] == 8
        assert all(p in proved for p in kept)  # nothing swapped or rewritten
        assert {p.metadata["family"] for p in kept} == families


def _recording_train_sft(record):
    """A stand-in for ``train_sft``: calls ``record(config, dataset)`` and makes a complete empty model folder."""
    from gram_rr.atomic import mark_complete
    from gram_rr.training.config import TrainResult

    def fake_train_sft(config, dataset, output_dir, use_ray=False):
        metrics = record(config, dataset)
        model = Path(output_dir) / "model"
        model.mkdir(parents=True)
        mark_complete(model)
        return TrainResult(model_dir=str(model), metrics=metrics)

    return fake_train_sft


def _proved_pairs(n=4):
    return [PreferencePair(id=f"p{i}", question=f"q{i}", response_a="x", response_b="y", label="AB"[i % 2],
                           rationale="Response A is right." if i % 2 == 0 else "Response A is wrong.") for i in range(n)]


def test_stage0_passes_train_each_from_the_last_with_its_own_seed(tmp_path, monkeypatch):
    """stage0_passes=3: three SFT runs on the same set, chained base -> pass-1 -> pass-2 -> model, seeds 0, 1, 2;
    only the last model is kept, and a rerun does not retrain a pass whose model is complete."""
    from gram_rr.atomic import mark_complete
    from gram_rr.data.io import write_pairs
    from gram_rr.selftrain import stages
    from gram_rr.selftrain.recipe import SelfTrainRecipe
    from gram_rr.selftrain.rundir import RunDirectory

    calls = []

    def record(config, dataset):
        calls.append((config.model, config.seed, len(dataset)))
        return {"run": len(calls)}

    monkeypatch.setattr(stages, "train_sft", _recording_train_sft(record))
    proved = _proved_pairs()
    run = RunDirectory(tmp_path / "run", "hash", {})
    run.path("proofs-0").mkdir(parents=True)
    write_pairs(run.path("proofs-0") / "proved.jsonl", proved)
    recipe = SelfTrainRecipe(use_ray=False, order_augment="prove", reasoner_includes_seed=False, stage0_passes=3)
    work = tmp_path / "reasoner-0"
    work.mkdir()
    pipeline = stages.Pipeline(recipe, run=run)
    info = pipeline._train_reasoner(work, 0)
    base = stages.resolve_model(recipe.model)
    assert calls == [(base, 0, 4), (str(work / "pass-1" / "model"), 1, 4), (str(work / "pass-2" / "model"), 2, 4)]
    assert info["passes"] == [{"run": 1}, {"run": 2}, {"run": 3}] and info["trained_from"] == "base model"
    assert (work / "model").is_dir() and not (work / "pass-1").exists() and not (work / "pass-2").exists()

    # killed during the last pass: the finished passes are reused
    shutil.rmtree(work / "model")
    for number in (1, 2):
        (work / f"pass-{number}" / "model").mkdir(parents=True)
        mark_complete(work / f"pass-{number}" / "model")
        (work / f"pass-{number}" / "info.json").write_text(json.dumps({"metrics": {"run": f"old {number}"}}))
    calls.clear()
    info = pipeline._train_reasoner(work, 0)
    run.close()
    assert calls == [(str(work / "pass-2" / "model"), 2, 4)]
    assert info["passes"] == [{"run": "old 1"}, {"run": "old 2"}, {"run": 1}]


def test_round_learning_rate_applies_to_rounds_and_control_not_stage0(tmp_path, monkeypatch):
    """round_learning_rate=2e-5: reasoner 0 trains at reasoner_train's rate, round 1 and the control at 2e-5."""
    from gram_rr.data.io import write_pairs
    from gram_rr.selftrain import stages
    from gram_rr.selftrain.recipe import SelfTrainRecipe
    from gram_rr.selftrain.rundir import RunDirectory

    rates = []

    def record(config, dataset):
        rates.append(config.learning_rate)
        return {}

    monkeypatch.setattr(stages, "train_sft", _recording_train_sft(record))
    proved = _proved_pairs()
    run = RunDirectory(tmp_path / "run", "hash", {})
    for stage in ("proofs-0", "proofs-1"):
        run.path(stage).mkdir(parents=True)
        write_pairs(run.path(stage) / "proved.jsonl", proved)
    recipe = SelfTrainRecipe(use_ray=False, order_augment="prove", reasoner_includes_seed=False, rounds=1,
                             round_learning_rate=2e-5)
    recipe.reasoner_train.learning_rate = 1e-4
    pipeline = stages.Pipeline(recipe, run=run)
    for k in (0, 1):
        work = tmp_path / f"work-{k}"
        work.mkdir()
        run.finish(f"reasoner-{k}", work, pipeline._train_reasoner(work, k))
    control = tmp_path / "control"
    control.mkdir()
    pipeline._train_control(control)
    run.close()
    assert rates == [1e-4, 2e-5, 2e-5]
    assert recipe.reasoner_train.learning_rate == 1e-4  # the recipe itself is not changed
