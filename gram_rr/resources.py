"""Files that ship with gram-rr: the prompt templates, the recipes, the demo data and the speed benchmark.

A wheel carries the repository's top-level ``prompts/``, ``recipes/``, ``data/`` and ``benchmarks/`` folders
inside the package, as ``gram_rr/_resources/`` (``setup.py`` copies them at build time); a
checkout (editable install) reads the top-level folders themselves.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

PACKAGED = "_resources"
SHIPPED_FOLDERS = ("prompts", "recipes", "data", "benchmarks")
_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=None)
def shipped_root() -> Path:
    """The folder holding the shipped folders: the installed package's copy, else the checkout."""
    packaged = files("gram_rr") / PACKAGED
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    if all((_CHECKOUT_ROOT / name).is_dir() for name in SHIPPED_FOLDERS):
        return _CHECKOUT_ROOT
    raise FileNotFoundError(
        f"gram-rr's shipped folders {SHIPPED_FOLDERS} are neither in {packaged} (a wheel install) nor in "
        f"{_CHECKOUT_ROOT} (a checkout); reinstall gram-rr"
    )


def shipped_path(*parts: str) -> Path:
    """A shipped file or folder, e.g. ``shipped_path("prompts", "prover.txt")``."""
    return shipped_root().joinpath(*parts)


def data_path(path: str | Path) -> Path:
    """Where a recipe's data path points.

    An absolute path, or a relative one that exists from the current directory, is used as
    given. A relative path that does not exist here is looked up among the shipped files, so
    ``data/demo/seed.jsonl`` finds the demo data from any directory and in any install.
    """
    given = Path(path)
    if given.is_absolute() or given.exists():
        return given
    shipped = shipped_root() / given
    return shipped if shipped.exists() else given
