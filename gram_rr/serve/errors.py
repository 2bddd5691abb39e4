"""Errors that become HTTP statuses: a bad request names its field; an engine failure is a 503."""

from __future__ import annotations


class RequestError(ValueError):
    """A request the service refuses: ``status`` (400 malformed, 413 too long), the ``field`` at fault."""

    def __init__(self, field: str | None, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.status = status


class EngineFailure(RuntimeError):
    """The replica's engine raised; the replica reports itself unhealthy and Serve replaces it."""
