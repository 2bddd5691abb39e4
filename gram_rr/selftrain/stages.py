"""The GRAM-R2 stages, wired from engines, the judge, the prover and the trainer.

Stages only read earlier stages' artifacts and write their own; each is skipped when the
run directory records it as finished, so re-running the same command resumes.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any

from gram_rr.atomic import is_complete, write_json
from gram_rr.data import iter_pairs, load_pairs, write_pairs
from gram_rr.data.records import PreferencePair
from gram_rr.data.swap import SWAP_SUFFIX, augment_with_swaps, swap_pair
from gram_rr.engines import build_engine
from gram_rr.engines.base import Engine
from gram_rr.eval.pairs import pair_group, pair_metrics
from gram_rr.judge import JudgeConfig, RewardReasoner
from gram_rr.models import resolve_model
from gram_rr.resources import data_path
from gram_rr.selftrain import stage_names
from gram_rr.selftrain.chunks import ChunkLog, ChunkWork, PairSource, run_in_chunks
from gram_rr.selftrain.filters import PREDICTION_DROPS, drop_label_surplus, keep_prediction, labels_to_swap, predicted_label
from gram_rr.selftrain.proofs import ProofCounts, best_proofs, proved_pairs
from gram_rr.selftrain.recipe import PredictConfig, SelfTrainRecipe
from gram_rr.selftrain.rundir import RunDirectory
from gram_rr.train import TrainConfig, sft_examples, train_sft, with_role_distractors
from gram_rr.verdict import FLIP, Verdict


@dataclass
class Stage:
    """One resumable step: ``run(work_dir) -> info`` writes its artifacts into ``work_dir``."""

    name: str
    title: str
    run: Callable[[Path], dict[str, Any]]
    trains: bool = False  # a training stage keeps its work folder (checkpoints) across restarts
    chunked: bool = False  # a generation stage in chunks keeps its work folder (its chunk log) too


class EngineSlot:
    """At most one live engine, closed when its stage ends.

    Every stage starts a fresh engine (same seed, empty prefix cache, unused sampler), so a
    stage computes the same text whether it runs after other stages or first after a resume.
    """

    def __init__(self, recipe: SelfTrainRecipe):
        self.recipe = recipe
        self.model: str | None = None
        self.engine: Engine | None = None

    def get(self, model: str) -> Engine:
        if self.model != model:
            self.release()
            config = dataclasses.replace(self.recipe.engine, model=model, seed=self.recipe.seed)
            if self.recipe.use_ray:
                from gram_rr.engines.pool import EnginePool

                self.engine = EnginePool(config)
            else:
                self.engine = build_engine(config)
            self.model = model
        assert self.engine is not None
        return self.engine

    def release(self) -> None:
        if self.engine is not None:
            self.engine.close()
        self.engine, self.model = None, None


def _head(path: Path, n: int | None, groups: list[str] | None = None) -> list[PreferencePair]:
    """The first ``n`` pairs of a file (all when None) in ``groups`` (any when None), read no further than needed."""
    if n is None and groups is None:
        return load_pairs(path)
    return list(islice(_in_groups(iter_pairs(path), groups), n))


def _in_groups(pairs: Iterable[PreferencePair], groups: list[str] | None) -> Iterable[PreferencePair]:
    """The pairs whose group (:func:`gram_rr.eval.pairs.pair_group`) is one of ``groups``; all when None."""
    return pairs if groups is None else (pair for pair in pairs if pair_group(pair) in groups)


def _check_groups_found(path: str, count: int, groups: list[str] | None) -> None:
    """A labeled split with no pair of ``data.labeled_groups`` is an error naming the groups it does hold."""
    if count or groups is None:
        return
    found = sorted({str(pair_group(pair)) for pair in iter_pairs(data_path(path))})
    raise ValueError(f"{path}: no pair of data.labeled_groups {groups}; its groups are {found}")


def _check_few_labeled_found(name: str, path: Path, few_labeled: dict[str, int] | None) -> None:
    """Each ``data.few_labeled`` group must have as many labeled pairs as asked; else an error naming what it has."""
    if not few_labeled:
        return
    found = Counter(str(pair_group(pair)) for pair in iter_pairs(path))
    short = {group: found[group] for group, count in few_labeled.items() if found[group] < count}
    if short:
        raise ValueError(f"{name}: data.few_labeled asks for more pairs than these groups hold: {short}; "
                         f"its groups are {dict(sorted(found.items()))}")


def _with_swaps(pairs: Iterable[PreferencePair]) -> Iterator[PreferencePair]:
    """Each pair followed by its A/B swap (responses exchanged, label flipped), both without a rationale, to be proved."""
    for pair in pairs:
        pair = dataclasses.replace(pair, rationale=None)
        yield pair
        yield swap_pair(pair)


def _pseudo_labeled(pair: PreferencePair, record: dict[str, Any]) -> PreferencePair:
    """A kept prediction as a labeled pair: the predicted label, with the vote share and label probability."""
    metadata = {**pair.metadata, "vote_share": record["vote_share"], "label_probability": record["label_probability"]}
    return dataclasses.replace(pair, label=record["label"], metadata=metadata)


def _prediction_record(pair: PreferencePair, verdict: Verdict, config: PredictConfig) -> dict[str, Any]:
    """What a predict stage keeps of one verdict: the pseudo-label, why it is dropped (None: kept), and counts."""
    label = predicted_label(verdict, config)
    # label_probability: the judge's P(label is right), which stays true if balance_labels swaps A and B
    label_probability = None
    if verdict.probability is not None:
        label_probability = verdict.probability if label == "A" else 1.0 - verdict.probability
    return {
        "id": pair.id, "label": label, "dropped": keep_prediction(verdict, config), "vote_share": verdict.confidence,
        "label_probability": label_probability, "abstentions": verdict.abstentions, "votes": len(verdict.votes),
    }


class Pipeline:
    """Builds the stage list for a recipe and runs it against a run directory."""

    def __init__(self, recipe: SelfTrainRecipe, run: RunDirectory | None):
        self.recipe, self.run = recipe, run
        self.engines = EngineSlot(recipe)
        data = recipe.data
        self.seed_pairs = _head(data_path(data.seed), data.seed_size, data.labeled_groups)
        _check_groups_found(data.seed, len(self.seed_pairs), data.labeled_groups)
        self.test_pairs = _head(data_path(data.test), data.test_size)
        # The labeled and unlabeled pairs are streamed from their files by the stages that use them
        # (labeled_pairs, round_pairs): here they are only read through once, to check and count them.
        self.labeled_path, self.unlabeled_path = data_path(data.labeled), data_path(data.unlabeled)
        self.labeled_count = sum(1 for _ in self.labeled_pairs())
        _check_groups_found(data.labeled, self.labeled_count, data.labeled_groups)
        _check_few_labeled_found(data.labeled, self.labeled_path, data.few_labeled)
        needed = data.unlabeled_per_round * recipe.rounds
        available = sum(1 for _ in islice(iter_pairs(self.unlabeled_path), needed)) if needed else 0
        if available < needed:
            raise ValueError(
                f"{data.unlabeled} holds {available} pairs; {recipe.rounds} rounds of "
                f"{data.unlabeled_per_round} need {needed}. Lower data.unlabeled_per_round or add data "
                "(python -m gram_rr.data.demo makes more demo pairs)."
            )
        missing = [p.id for p in self.seed_pairs if not p.rationale]
        if missing:
            raise ValueError(f"{data.seed}: the seed pairs need rationales; {len(missing)} have none (first: {missing[0]})")

    # -- plan ---------------------------------------------------------------------------
    def stages(self) -> list[Stage]:
        r = self.recipe
        plan = []
        if r.eval.baseline:
            plan.append(Stage(stage_names.EVAL_BASE, "evaluate the untrained model",
                              lambda w: self._evaluate(w, resolve_model(r.model))))
        plan += [
            Stage(stage_names.PROVER, "SFT the prover on the seed rationales", self._train_prover, trains=True),
            Stage(stage_names.proofs(0), "prover proves the labeled pairs", self._prove_labeled, chunked=True),
            Stage(stage_names.reasoner(0), "SFT the reasoner on the proved pairs", lambda w: self._train_reasoner(w, 0),
                  trains=True),
            Stage(stage_names.evaluation(0), "evaluate reasoner 0", lambda w: self._evaluate(w, self._reasoner(0))),
        ]
        for k in range(1, r.rounds + 1):
            plan += [
                Stage(stage_names.predict(k), f"reasoner {k - 1} pseudo-labels batch {k}",
                      lambda w, k=k: self._predict(w, k), chunked=True),
                Stage(stage_names.proofs(k), f"prover proves round {k} labels",
                      lambda w, k=k: self._prove_predicted(w, k), chunked=True),
                Stage(stage_names.reasoner(k), f"SFT reasoner {k}",
                      lambda w, k=k: self._train_reasoner(w, k), trains=True),
                Stage(stage_names.evaluation(k), f"evaluate reasoner {k}",
                      lambda w, k=k: self._evaluate(w, self._reasoner(k))),
            ]
        if r.control and r.rounds > 0:
            plan += [
                Stage(stage_names.CONTROL,
                      "same-compute control: reasoner 0 trained on more stage-0 data, no pseudo-labels",
                      self._train_control, trains=True),
                Stage(stage_names.EVAL_CONTROL, "evaluate the control",
                      lambda w: self._evaluate(w, str(self.run.path(stage_names.CONTROL) / "model"))),
            ]
        return plan

    def execute(self, stage: Stage) -> dict[str, Any]:
        assert self.run is not None, "a pipeline built without a run directory can only plan"
        started = time.time()
        work = self.run.partial(stage.name, keep=stage.trains or stage.chunked)
        try:
            info = stage.run(work)
        finally:
            self.engines.release()  # frees the devices for training, and the next stage starts fresh
        info["seconds"] = round(time.time() - started, 1)
        info["title"] = stage.title
        self.run.finish(stage.name, work, info)
        return info

    def close(self) -> None:
        self.engines.release()

    def labeled_pairs(self) -> Iterator[PreferencePair]:
        """The first ``data.labeled_size`` labeled pairs (all when None) of ``data.labeled_groups``, then the first
        pairs of each ``data.few_labeled`` group, streamed from the file."""
        data = self.recipe.data
        pairs = islice(_in_groups(iter_pairs(self.labeled_path), data.labeled_groups), data.labeled_size)
        few = (islice(_in_groups(iter_pairs(self.labeled_path), [group]), count)
               for group, count in (data.few_labeled or {}).items())
        return chain(pairs, *few)

    def round_pairs(self, k: int) -> Iterator[PreferencePair]:
        """Round ``k``'s unlabeled batch, streamed from the file: the rest of the split is never held."""
        size = self.recipe.data.unlabeled_per_round
        return islice(iter_pairs(self.unlabeled_path), (k - 1) * size, k * size)

    # -- artifacts ------------------------------------------------------------------------
    def _prover(self) -> str:
        return str(self.run.path(stage_names.PROVER) / "model")

    def _reasoner(self, k: int) -> str:
        return str(self.run.path(stage_names.reasoner(k)) / "model")

    def _merged_data(self, k: int) -> list[PreferencePair]:
        """All proved data up to round k (what the paper merges); a reasoner that continued trained on less."""
        return load_pairs(self.run.path(stage_names.reasoner(k)) / "merged.jsonl", allow_empty=True)

    # -- stages ---------------------------------------------------------------------------
    def _train(self, work: Path, role: str, base: str, pairs: list[PreferencePair], config,
               seed_offset: int = 0) -> dict[str, Any]:
        """Train on ``pairs`` (kept in ``work/trained.jsonl``, before the A/B swaps) into ``work/model``."""
        config = dataclasses.replace(config, model=base, seed=self.recipe.seed + seed_offset)
        write_pairs(work / "trained.jsonl", pairs)
        if self.recipe.order_augment == "prove":  # the proved pairs hold their proved swaps already
            examples, swaps = pairs, {"proved_swaps": sum(p.id.endswith(SWAP_SUFFIX) for p in pairs)}
        else:
            examples, swaps = augment_with_swaps(pairs, self.recipe.order_augment, seed=self.recipe.seed)
        examples, distractors = with_role_distractors(examples, role, config)
        result = train_sft(config, sft_examples(examples, role), work / "train", use_ray=self.recipe.use_ray)
        if (work / "model").exists():  # an earlier attempt moved its model here, then was killed
            shutil.rmtree(work / "model")
        shutil.move(result.model_dir, work / "model")
        metrics = dict(result.metrics)
        logs = metrics.pop("tensorboard_dir", None)  # TensorBoard event files stay with the stage
        if logs and Path(logs).is_dir():
            shutil.move(logs, work / "tensorboard")
        shutil.rmtree(work / "train", ignore_errors=True)  # checkpoints are only needed until the stage finishes
        on_ray = self.recipe.use_ray or config.num_workers > 1
        trained_by = f"Ray Train, {config.num_workers} worker(s)" if on_ray else "driver process"
        return {
            "pairs": len(pairs), "examples": len(examples), "order_augment": {"mode": self.recipe.order_augment, **swaps},
            "distractors": distractors,
            "trained_by": trained_by, "metrics": metrics,
        }

    def _train_prover(self, work: Path) -> dict[str, Any]:
        return self._train(work, "prover", resolve_model(self.recipe.model), self.seed_pairs, self.recipe.prover_train)

    def _in_chunks(self, work: Path, stage: str, pairs: PairSource, model: str,
                   chunk_work: ChunkWork) -> tuple[ChunkLog, dict[str, int]]:
        """Run a generation stage chunk by chunk into ``work/chunks.jsonl``, skipping the chunks it holds."""
        log = ChunkLog(work / "chunks.jsonl")
        counts = run_in_chunks(log, pairs, self.recipe.generation_chunk_pairs, self.recipe.seed, stage,
                               lambda: self.engines.get(model), chunk_work)
        return log, counts

    def _prove(self, work: Path, stage: str, pairs: PairSource) -> dict[str, Any]:
        """Prove ``pairs`` (with order_augment=prove, each pair and its swap) into ``work/proved.jsonl``."""
        r = self.recipe
        source: PairSource = (lambda: _with_swaps(pairs())) if r.order_augment == "prove" else pairs
        log, chunks = self._in_chunks(work, stage, source, self._prover(),
                                      lambda chunk, prover: best_proofs(chunk, prover, r.proofs, r.filters))
        counts = ProofCounts()
        write_pairs(work / "proved.jsonl", proved_pairs(source(), log.records(), counts, self.recipe.filters.max_same_proof))
        return {
            "pairs_in": counts.pairs_read, "proved": counts.pairs_read - counts.pairs_without_proof,
            "pairs_without_proof": counts.pairs_without_proof, "proof_samples": counts.samples,
            "proof_samples_rejected": counts.rejected_samples, **chunks,
        }

    def _prove_labeled(self, work: Path) -> dict[str, Any]:
        return self._prove(work, stage_names.proofs(0), self.labeled_pairs)

    def _predictions(self, k: int, log: ChunkLog) -> Iterator[tuple[PreferencePair, dict[str, Any]]]:
        """Round ``k``'s pairs with their prediction records, streamed from the round's file and the log."""
        for pair, record in zip(self.round_pairs(k), log.records(), strict=True):
            if record["id"] != pair.id:
                raise ValueError(f"prediction record {record['id']!r} does not belong to pair {pair.id!r}")
            yield pair, record

    def _kept(self, k: int, log: ChunkLog, to_swap: set[int]) -> Iterator[PreferencePair]:
        """The kept predictions as pseudo-labeled pairs; those at the positions in ``to_swap`` (among the kept) A/B-swapped."""
        kept = (_pseudo_labeled(pair, record) for pair, record in self._predictions(k, log) if not record["dropped"])
        for index, pair in enumerate(kept):
            yield swap_pair(pair) if index in to_swap else pair

    def _predict(self, work: Path, k: int) -> dict[str, Any]:
        p = self.recipe.predict
        judge_config = JudgeConfig(votes=p.votes, both_orders=p.both_orders, temperature=p.temperature,
                                   max_new_tokens=p.max_new_tokens)

        def judge(pairs: list[PreferencePair], engine: Engine) -> list[dict[str, Any]]:
            verdicts = RewardReasoner(engine, judge_config).compare_many(pairs, votes=p.votes, both_orders=p.both_orders)
            return [_prediction_record(pair, verdict, p) for pair, verdict in zip(pairs, verdicts)]

        log, chunks = self._in_chunks(work, stage_names.predict(k), lambda: self.round_pairs(k),
                                      self._reasoner(k - 1), judge)
        dropped = Counter(dict.fromkeys(PREDICTION_DROPS[p.select], 0))
        predicted = gold_known = correct_all = abstentions = votes = 0
        kept_by_group: dict[str, dict[str, int]] = {}  # kept pairs with a gold label, right ones, per pair_group
        labels: list[str] = []  # of the kept pairs: all the A/B balance needs, with whether each can be swapped
        swappable: list[bool] = []
        for pair, record in self._predictions(k, log):
            predicted += 1
            label = record["label"]
            abstentions += record["abstentions"]
            votes += record["votes"]
            gold = pair.metadata.get("gold_label")  # demo data only; used for the report, never for training
            if gold is not None:
                gold_known += 1
                correct_all += label == gold
            if record["dropped"]:
                dropped[record["dropped"]] += 1
                continue
            if gold is not None:
                group = kept_by_group.setdefault(pair_group(pair) or "-", {"kept": 0, "right": 0})
                group["kept"] += 1
                group["right"] += label == gold
            labels.append(label)
            swappable.append(self.recipe.filters.balance_labels and swap_pair(_pseudo_labeled(pair, record)) is not None)
        to_swap = labels_to_swap(labels, swappable, seed=self.recipe.seed + k) if self.recipe.filters.balance_labels else set()
        write_pairs(work / "predicted.jsonl", self._kept(k, log, to_swap))
        info: dict[str, Any] = {
            "predicted": predicted, "kept": len(labels), "dropped": dict(dropped),
            "abstention_rate": 100 * abstentions / max(1, votes),
            "labels_kept": dict(Counter(FLIP[label] if i in to_swap else label for i, label in enumerate(labels))),
        }
        if gold_known:
            info["pseudo_label_accuracy"] = 100 * correct_all / gold_known
            kept_with_gold = sum(group["kept"] for group in kept_by_group.values())
            correct_kept = sum(group["right"] for group in kept_by_group.values())
            info["pseudo_label_accuracy_kept"] = 100 * correct_kept / kept_with_gold if kept_with_gold else None
            if any(name != "-" for name in kept_by_group):
                info["pseudo_labels_kept_by_group"] = dict(sorted(kept_by_group.items()))
        return {**info, **chunks}

    def _prove_predicted(self, work: Path, k: int) -> dict[str, Any]:
        predicted = self.run.path(stage_names.predict(k)) / "predicted.jsonl"
        return self._prove(work, stage_names.proofs(k), lambda: iter_pairs(predicted, allow_empty=True))

    def _train_reasoner(self, work: Path, k: int) -> dict[str, Any]:
        """Reasoner k: ``merged.jsonl`` holds every proved pair so far, ``trained.jsonl`` what it trained on
        (the merged set from the base model; this round's pairs plus a replay sample when it continues)."""
        r = self.recipe
        new = load_pairs(self.run.path(stage_names.proofs(k)) / "proved.jsonl", allow_empty=True)
        if k == 0:
            earlier = self.seed_pairs if r.reasoner_includes_seed else []
        else:
            earlier = self._merged_data(k - 1)
        merged = earlier + new
        write_pairs(work / "merged.jsonl", merged)
        if k > 0 and r.reasoner_init == "continue":
            replay = random.Random(r.seed + k).sample(earlier, min(r.replay, len(earlier)))
            base, examples = self._reasoner(k - 1), new + replay
        else:
            base, examples = resolve_model(r.model), merged
        before = len(examples)
        if r.order_augment == "prove" and r.filters.balance_labels:
            group_of = pair_group if r.filters.balance_by_group else None
            examples = drop_label_surplus(examples, seed=r.seed + k, group_of=group_of)
        trained_from = "previous reasoner" if base != resolve_model(r.model) else "base model"
        earlier_passes = self._earlier_stage0_passes(work, base, examples) if k == 0 else []
        if earlier_passes:
            base = str(work / f"pass-{len(earlier_passes)}" / "model")
        config = r.reasoner_train if k == 0 else self._round_train_config()
        info = self._train(work, "reasoner", base, examples, config, seed_offset=len(earlier_passes))
        for number in range(1, len(earlier_passes) + 1):  # only the last pass's model is kept
            shutil.rmtree(work / f"pass-{number}", ignore_errors=True)
        info.update(new=len(new), merged=len(merged), dropped_label_surplus=before - len(examples), trained_from=trained_from)
        if earlier_passes:
            info["passes"] = [*earlier_passes, info["metrics"]]
        return info

    def _earlier_stage0_passes(self, work: Path, base: str, examples: list[PreferencePair]) -> list[dict[str, Any]]:
        """Every SFT pass of reasoner 0 but the last, each from the one before (``work/pass-i/model``); their metrics.

        A pass whose model folder is complete (an interrupted stage being rerun) is not trained again.
        """
        metrics = []
        for number in range(1, self.recipe.stage0_passes):
            pass_work = work / f"pass-{number}"
            if not is_complete(pass_work / "model"):
                pass_work.mkdir(exist_ok=True)
                write_json(pass_work / "info.json", self._train(pass_work, "reasoner", base, examples,
                                                               self.recipe.reasoner_train, seed_offset=number - 1))
            metrics.append(json.loads((pass_work / "info.json").read_text())["metrics"])
            base = str(pass_work / "model")
        return metrics

    def _round_train_config(self) -> TrainConfig:
        """The reasoner SFT settings of the rounds and the control: stage 0's, at ``round_learning_rate``."""
        r = self.recipe
        if r.round_learning_rate is None:
            return r.reasoner_train
        return dataclasses.replace(r.reasoner_train, learning_rate=r.round_learning_rate)

    def _train_control(self, work: Path) -> dict[str, Any]:
        """What the rounds' training compute buys without pseudo-labels.

        The control starts where the last round's reasoner started from (reasoner 0 when rounds
        continue, the base model when each round retrains) and trains on as many pairs as the
        rounds did, drawn (seeded, cycling) from the stage-0 training set only.
        """
        r = self.recipe
        rounds = range(1, r.rounds + 1)
        if r.reasoner_init == "continue":
            base, count = self._reasoner(0), sum(self.run.info(stage_names.reasoner(k))["pairs"] for k in rounds)
        else:
            base, count = resolve_model(r.model), self.run.info(stage_names.reasoner(r.rounds))["pairs"]
        stage0 = load_pairs(self.run.path(stage_names.reasoner(0)) / "trained.jsonl")
        rng = random.Random(r.seed + 1000)
        pairs: list[PreferencePair] = []
        while len(pairs) < count:
            pairs += rng.sample(stage0, min(len(stage0), count - len(pairs)))
        info = self._train(work, "reasoner", base, pairs, self._round_train_config())
        info.update(matches_rounds_pairs=count, drawn_from=f"{stage_names.reasoner(0)} training set")
        return info

    def _evaluate(self, work: Path, model: str) -> dict[str, Any]:
        e = self.recipe.eval
        judge = RewardReasoner(self.engines.get(model), JudgeConfig(votes=e.votes, both_orders=e.both_orders, max_new_tokens=e.max_new_tokens))
        verdicts = judge.compare_many(self.test_pairs, votes=e.votes, both_orders=e.both_orders)
        with open(work / "verdicts.jsonl", "w", encoding="utf-8") as out:
            for pair, verdict in zip(self.test_pairs, verdicts):
                out.write(json.dumps({"id": pair.id, "label": pair.label, **verdict.to_dict()}) + "\n")
        return {"model": model, "metrics": pair_metrics(self.test_pairs, verdicts)}
