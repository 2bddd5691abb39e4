"""gram-rr: train and use reward reasoners (generative reward models that think, then judge)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Public names -> defining module; imported on first use so `import gram_rr` stays light.
_EXPORTS = {
    "RewardReasoner": "gram_rr.judge",
    "JudgeConfig": "gram_rr.judge",
    "RewardModelScorer": "gram_rr.scalar",
    "resolve_model": "gram_rr.models",
    "load_pairs": "gram_rr.data",
    "write_pairs": "gram_rr.data",
    "PreferencePair": "gram_rr.data",
    "DataError": "gram_rr.data",
    "parse_judgment": "gram_rr.parsing",
    "Judgment": "gram_rr.parsing",
    "Verdict": "gram_rr.verdict",
    "Vote": "gram_rr.verdict",
    "GroupJudgeReward": "gram_rr.rl",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gram_rr' has no attribute {name!r}")
