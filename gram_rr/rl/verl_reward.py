"""A verl custom reward function that asks the gram-rr reward service (``python -m gram_rr.serve``).

verl's reward manager calls ``compute_score(data_source, solution_str, ground_truth, extra_info)``
once per response. Point verl at this file::

    custom_reward_function.path=$(python -c "import gram_rr.rl.verl_reward as m; print(m.__file__)") \\
    custom_reward_function.name=compute_score

and the service at ``GRAM_RR_REWARD_URL`` (default ``http://127.0.0.1:8000``; ``GRAM_RR_REWARD_TIMEOUT_S``,
default 600, bounds each request). The score is P(``solution_str`` better than ``ground_truth``
as a reference answer) for the question in ``extra_info["question"]`` (verl's example
preprocessing stores it there; ``extra_info["prompt"]`` is read too), the pair judged in both
shown orders: :func:`gram_rr.rl.group_reward.first_wins` of the pooled verdict, in [0, 1].
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from gram_rr.rl.group_reward import first_wins

URL_ENV = "GRAM_RR_REWARD_URL"
TIMEOUT_ENV = "GRAM_RR_REWARD_TIMEOUT_S"
DEFAULT_URL = "http://127.0.0.1:8000"


@lru_cache(maxsize=4)
def _judge(url: str, timeout_s: float) -> Any:
    from gram_rr.serve.client import RemoteJudge

    return RemoteJudge(url, timeout_s=timeout_s)


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None) -> float:
    """P(the solution is better than the ground truth answer), from the reward service."""
    info = extra_info or {}
    question = info.get("question") or info.get("prompt")
    if not question:
        raise ValueError(
            f"{data_source}: extra_info has no 'question' (or 'prompt'); the judge compares two answers "
            "to a question, so store it in extra_info when preprocessing the data"
        )
    judge = _judge(os.environ.get(URL_ENV, DEFAULT_URL), float(os.environ.get(TIMEOUT_ENV, "600")))
    return first_wins(judge.compare(question, solution_str, str(ground_truth), both_orders=True))
