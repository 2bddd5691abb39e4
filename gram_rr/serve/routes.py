"""The endpoints (JSON over HTTP) and their statuses.

- ``POST /compare``: ``{"pairs": [{"question", "a", "b"}], "votes"?, "both_orders"?, "rationales"?}``
  -> ``{"verdicts": [...]}``;
- ``POST /rank``, ``POST /best_of_n``: ``{"question", "candidates", ...}`` -> ``{"ranking"?, "best", "comparisons"}``;
- ``POST /get_reward``: OpenRLHF's remote reward protocol (:mod:`gram_rr.serve.openrlhf`; labels
  optional: :mod:`gram_rr.serve.reward`);
- ``GET /health``, ``GET /info``.

Every answer carries the header ``x-replica-id``: the id of the Serve replica that answered
(as ``/info``'s ``replica.id`` and Serve's logs name it).

Statuses: 400 malformed JSON or field (``{"error", "field"}``), 413 a judge prompt longer than
the model fits (with the lengths), 503 the engine failed (the replica then fails its health check
and Serve replaces it); Serve itself answers 408 after ``request_timeout_s``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gram_rr.serve import schema
from gram_rr.serve.errors import EngineFailure, RequestError
from gram_rr.serve.service import JudgeService

REPLICA_HEADER = "x-replica-id"


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as err:
        raise RequestError(None, f"the body is not valid JSON: {err}") from None


def build_app(service: JudgeService) -> FastAPI:
    """The FastAPI app of one replica's ``service``."""
    app = FastAPI(title="gram-rr reward service")

    @app.middleware("http")
    async def name_the_replica(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers[REPLICA_HEADER] = service.replica_id
        return response

    @app.exception_handler(RequestError)
    async def refused(_: Request, err: RequestError) -> JSONResponse:
        return JSONResponse({"error": err.message, "field": err.field}, status_code=err.status)

    @app.exception_handler(EngineFailure)
    async def engine_failed(_: Request, err: EngineFailure) -> JSONResponse:
        return JSONResponse({"error": str(err), "field": None}, status_code=503)

    @app.post("/compare")
    async def compare(request: Request) -> dict[str, Any]:
        parsed = schema.compare_request(await _body(request))
        verdicts = await service.compare(parsed)
        return {"verdicts": [schema.verdict_json(v, parsed.options.rationales) for v in verdicts]}

    async def select(request: Request, mode: str) -> dict[str, Any]:
        parsed = schema.select_request(await _body(request))
        selection = await service.select(parsed, mode)
        return {
            "best": selection.best,
            **({"ranking": selection.ranking} if mode == "rank" else {}),
            "comparisons": [
                {"a": c.i, "b": c.j, **schema.verdict_json(c.verdict, parsed.options.rationales)}
                for c in selection.comparisons
            ],
        }

    @app.post("/rank")
    async def rank(request: Request) -> dict[str, Any]:
        return await select(request, "rank")

    @app.post("/best_of_n")
    async def best_of_n(request: Request) -> dict[str, Any]:
        return await select(request, "best")

    @app.post("/get_reward")
    async def get_reward(request: Request) -> dict[str, Any]:
        return await service.reward(schema.reward_request(await _body(request)))

    @app.get("/health")
    async def health() -> dict[str, str]:
        service.check_health()
        return {"status": "ok"}

    @app.get("/info")
    async def info() -> dict[str, Any]:
        return service.info()

    return app
