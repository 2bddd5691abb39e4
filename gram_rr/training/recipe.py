"""A role's TrainConfig from a recipe YAML (section ``<role>_train``, else ``train``) plus overrides."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from gram_rr.config import apply_overrides, from_dict, interpolate, load_yaml
from gram_rr.recipes import resolve_recipe
from gram_rr.training.config import TrainConfig

SECTIONS = ("{role}_train", "train")


def train_section(tree: dict, role: str) -> str:
    """The recipe section that configures ``role``'s training."""
    for pattern in SECTIONS:
        if pattern.format(role=role) in tree:
            return pattern.format(role=role)
    return f"{role}_train"


def load_train_config(
    recipe: str | Path | None, role: str, overrides: Sequence[str] = (), config_class: type[TrainConfig] = TrainConfig
) -> TrainConfig:
    """``config_class`` (a TrainConfig or subclass) for ``role``; overrides are ``key=value`` with keys bare
    (``epochs=2``, ``trl.optim=sgd``), ``train.``-prefixed, or prefixed with the role's section (``prover_train.epochs=2``)."""
    known = {f.name for f in fields(config_class)}
    path = resolve_recipe(recipe) if recipe is not None else None
    tree = load_yaml(path) if path is not None else {}
    section = train_section(tree, role)

    def qualify(key: str) -> str:
        head, dot, rest = key.partition(".")
        if not dot or head in known:
            return f"{section}.{key}"
        return f"{section}.{rest}" if head == "train" else key

    apply_overrides(tree, overrides, qualify=qualify)
    where = f"{path}.{section}" if path is not None else section
    return from_dict(config_class, interpolate(tree, str(path) if path is not None else "").get(section), where)
