"""Stage names, defined once: each names a folder under ``stages/`` and a key of the manifest.

A run has ``prover``; per round k ``predict-k`` (from round 1), ``proofs-k``, ``reasoner-k``
and ``eval-k``; ``eval-base``, ``control`` and ``eval-control`` when the recipe asks for them.
"""

from __future__ import annotations

_EVAL_PREFIX = "eval-"
PROVER = "prover"
EVAL_BASE = f"{_EVAL_PREFIX}base"
CONTROL = "control"
EVAL_CONTROL = f"{_EVAL_PREFIX}{CONTROL}"


def predict(k: int) -> str:
    """Round k's pseudo-labelling stage."""
    return f"predict-{k}"


def proofs(k: int) -> str:
    """Round k's proving stage."""
    return f"proofs-{k}"


def reasoner(k: int) -> str:
    """Round k's reasoner training stage."""
    return f"reasoner-{k}"


def evaluation(k: int) -> str:
    """Round k's evaluation of its reasoner."""
    return f"{_EVAL_PREFIX}{k}"


def round_stages(k: int) -> tuple[str, str, str, str]:
    """Round k's stages in run order (round 0 has no ``predict-0``)."""
    return predict(k), proofs(k), reasoner(k), evaluation(k)


def is_evaluation(name: str) -> bool:
    """Whether the stage evaluates a model: ``eval-base``, ``eval-k`` or ``eval-control``."""
    return name.startswith(_EVAL_PREFIX)
