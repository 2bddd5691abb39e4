"""Attribute scores from an LDL reward model: the ``--attributes`` file of ``analyze tree`` and ``eval --scorer tree``.

    python -m gram_rr.analyze attributes --model runs/ldl/model --pairs FILE --out attributes.jsonl

A response's score for an attribute is the expectation of the label distribution that attribute's
head predicts (its expected rating on the model's scale, e.g. 0-4 for HelpSteer2's attributes);
the gate is not used. The model reads exactly the ids :class:`gram_rr.RewardModelScorer` scores
(:func:`gram_rr.scalar_tokens.response_ids`, inputs over ``max_length`` keep their last tokens),
one response per forward pass, so a score depends on its own text alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gram_rr.analyze.attributes import write_attributes
from gram_rr.data.records import PreferencePair
from gram_rr.pair_prompt import Question, pair_parts, question_text
from gram_rr.scalar import RewardModelScorer
from gram_rr.scalar_tokens import response_ids


def attribute_ratings(scorer: RewardModelScorer, items: Sequence[tuple[Question, str]]) -> list[dict[str, float]]:
    """Each ``(question, response)`` item's expected rating per attribute of the scorer's LDL model;
    identical items are scored once."""
    import torch

    from gram_rr.ldl.model import LDLRewardModel

    model = scorer.model
    if not isinstance(model, LDLRewardModel):
        raise ValueError(f"attribute scores need an LDL reward model, not a {type(model).__name__}")
    ratings: dict[tuple[str, str], dict[str, float]] = {}
    with torch.inference_mode():
        for question, response in items:
            key = (question_text(question), response)
            if key not in ratings:
                ids = response_ids(scorer.tokenizer, question, response, scorer.config.max_length)
                output = model(torch.tensor([ids], device=model.device))
                ratings[key] = dict(zip(model.spec.attributes, output.attribute_scores[0].tolist()))
    return [ratings[(question_text(q), r)] for q, r in items]


def write_ldl_attributes(
    model_dir: str | Path, pairs: Sequence[PreferencePair], out: str | Path, **scorer_config: Any
) -> Path:
    """Score responses A and B of every pair with the LDL model in ``model_dir`` and write the
    attributes file (``model`` names the folder); ``scorer_config`` are :class:`gram_rr.scalar.ScorerConfig`
    fields (``batch_size`` is not used: one response per pass)."""
    from gram_rr.ldl.model import is_ldl_folder

    if not is_ldl_folder(model_dir):
        raise ValueError(f"{model_dir} is not an LDL reward model folder (no ldl_config.json); "
                         "train one with python -m gram_rr.train --role ldl")
    repeated = sorted(i for i, n in Counter(p.id for p in pairs).items() if n > 1)
    if repeated:
        raise ValueError(f"pair ids must be unique to key attribute scores; repeated: {repeated[:5]}")
    scorer = RewardModelScorer.from_pretrained(str(model_dir), **scorer_config)
    try:
        triples = [pair_parts(p) for p in pairs]
        ratings = attribute_ratings(scorer, [(q, r) for q, a, b in triples for r in (a, b)])
    finally:
        scorer.close()
    rows = [(pair.id, ratings[2 * k], ratings[2 * k + 1]) for k, pair in enumerate(pairs)]
    return write_attributes(out, rows, model=str(model_dir))
