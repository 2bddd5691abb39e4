"""Command-line entry points: a bad config or data file is one clear line and exit status 2."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

DEBUG_ENV = "GRAM_RR_DEBUG"


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors that describe the user's input (file, key, field), not a bug in gram-rr."""
    from gram_rr.config import ConfigError
    from gram_rr.data.errors import DataError
    from gram_rr.rerank import OutputMismatchError
    from gram_rr.selftrain.rundir import RecipeChangedError, RunDirectoryError

    return ConfigError, DataError, OutputMismatchError, RecipeChangedError, RunDirectoryError, FileNotFoundError, ValueError


def debug_requested() -> bool:
    """Whether tracebacks were asked for (``GRAM_RR_DEBUG=1``; ``--debug`` sets it in :func:`run_cli`).
    A CLI ``main`` that reports its own user errors re-raises them when this is true."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def run_cli(main: Callable[[], int | None]) -> int:
    """Run ``main``; a user error prints ``error: ...`` (no traceback) and returns 2.

    ``GRAM_RR_DEBUG=1`` (or ``--debug`` on the command line) shows the traceback instead.
    """
    if "--debug" in sys.argv:
        sys.argv.remove("--debug")
        os.environ[DEBUG_ENV] = "1"
    try:
        return main() or 0
    except user_errors() as err:
        if debug_requested():
            raise
        print(f"error: {err}\n(set {DEBUG_ENV}=1 or pass --debug for the traceback)", file=sys.stderr)
        return 2
