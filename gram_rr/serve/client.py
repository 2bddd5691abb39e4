"""Clients of the reward service: JSON over HTTP (standard library only), and :class:`RemoteJudge`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from gram_rr.pair_prompt import PairLike, Question, pair_parts
from gram_rr.serve.schema import verdict_from_json
from gram_rr.verdict import Verdict


class ServiceError(RuntimeError):
    """A non-2xx answer: its HTTP ``status``, the service's ``error`` message and the ``field`` at fault."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {error}" + (f" (field {field})" if field else ""))
        self.status = status
        self.error = error
        self.field = field


def request_json(url: str, body: Any = None, timeout_s: float = 600.0) -> Any:
    """GET ``url`` (``body`` None) or POST ``body`` as JSON; the decoded answer, or :class:`ServiceError`."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        text = err.read().decode(errors="replace")
        try:
            answer = json.loads(text)
        except ValueError:
            raise ServiceError(err.code, text) from None
        raise ServiceError(err.code, answer.get("error", text), answer.get("field")) from None


class RemoteJudge:
    """A pair judge (:class:`gram_rr.rl.PairComparer`, :class:`gram_rr.protocols.PairJudge`) that calls
    the reward service at ``url``, so ``GroupJudgeReward(RemoteJudge("http://host:8000"))`` scores GRPO
    groups on a shared server. ``votes``/``both_orders`` left None use the server's ``judge.*`` values."""

    def __init__(self, url: str, timeout_s: float = 600.0, rationales: bool = False) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.rationales = rationales

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return request_json(f"{self.url}{path}", body, self.timeout_s)

    def _options(self, votes: int | None, both_orders: bool | None) -> dict[str, Any]:
        options: dict[str, Any] = {"rationales": self.rationales}
        if votes is not None:
            options["votes"] = votes
        if both_orders is not None:
            options["both_orders"] = both_orders
        return options

    def compare_many(
        self, pairs: Sequence[PairLike], votes: int | None = None, both_orders: bool | None = None
    ) -> list[Verdict]:
        """One verdict per pair, from one ``POST /compare``."""
        if not pairs:
            return []
        body = {
            "pairs": [{"question": q, "a": a, "b": b} for q, a, b in map(pair_parts, pairs)],
            **self._options(votes, both_orders),
        }
        return [verdict_from_json(v) for v in self._post("/compare", body)["verdicts"]]

    def compare(self, question: Question, a: str, b: str, **options: Any) -> Verdict:
        return self.compare_many([(question, a, b)], **options)[0]

    def rank(self, question: Question, candidates: Sequence[str], both_orders: bool | None = None) -> list[int]:
        body = {"question": question, "candidates": list(candidates), **self._options(None, both_orders)}
        return self._post("/rank", body)["ranking"]

    def best_of_n(self, question: Question, candidates: Sequence[str], both_orders: bool | None = None) -> int:
        body = {"question": question, "candidates": list(candidates), **self._options(None, both_orders)}
        return self._post("/best_of_n", body)["best"]

    def info(self) -> dict[str, Any]:
        return request_json(f"{self.url}/info", timeout_s=self.timeout_s)

    def close(self) -> None:
        """Nothing to release: the server holds the model."""
