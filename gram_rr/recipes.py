"""The shipped recipes: find one by name, list them, copy one to edit.

    python -m gram_rr.recipes list
    python -m gram_rr.recipes copy cpu-smoke my-recipe.yaml
    python -m gram_rr.selftrain --recipe my-recipe.yaml

Wherever a recipe is asked for (``--recipe``), a file path works, and so does the name of a
shipped recipe (``cpu-smoke``, ``cpu-smoke.yaml`` or ``recipes/cpu-smoke.yaml`` when no such
file exists here), so the documented commands run from any directory.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from gram_rr.config import ConfigError
from gram_rr.resources import shipped_path

SUFFIX = ".yaml"


def recipes_dir() -> Path:
    """The shipped ``recipes/`` folder (inside the installed package, or the checkout's)."""
    return shipped_path("recipes")


def shipped_recipes() -> dict[str, Path]:
    """Name (file name without ``.yaml``) -> file of every shipped recipe, sorted by name."""
    return {path.stem: path for path in sorted(recipes_dir().glob(f"*{SUFFIX}"))}


def shipped_recipe(name: str) -> Path:
    """The file of shipped recipe ``name`` (``cpu-smoke`` or ``cpu-smoke.yaml``)."""
    recipes = shipped_recipes()
    key = name.removesuffix(SUFFIX)
    if key not in recipes:
        raise ConfigError(f"no shipped recipe named {name!r}; shipped: {', '.join(recipes)}")
    return recipes[key]


def resolve_recipe(recipe: str | Path) -> Path:
    """The recipe file for a ``--recipe`` value: the file itself when it exists, else the shipped
    recipe it names (``cpu-smoke``, ``cpu-smoke.yaml``, ``recipes/cpu-smoke.yaml``)."""
    path = Path(recipe)
    if path.is_file():
        return path
    if path.parent in (Path("."), Path("recipes")) and path.name.removesuffix(SUFFIX) in shipped_recipes():
        return shipped_recipe(path.name)
    raise ConfigError(
        f"recipe {recipe} not found; give a recipe file or a shipped recipe name "
        f"({', '.join(shipped_recipes())}; python -m gram_rr.recipes list)"
    )


def summary(path: Path) -> str:
    """The first sentence of a recipe's opening comment (what it is for)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#") or not line.strip("# "):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines)
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def copy_recipe(name: str, dest: str | Path, force: bool = False) -> Path:
    """Copy shipped recipe ``name`` to ``dest`` (a file, or an existing folder to copy into); returns the new file.

    An existing file is only overwritten with ``force``.
    """
    source = shipped_recipe(name)
    target = Path(dest)
    if target.is_dir():
        target = target / source.name
    if target.exists() and not force:
        raise ValueError(f"{target} already exists; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gram_rr.recipes",
        description="List the recipes shipped with gram-rr, or copy one to a file you can edit.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="name and summary of every shipped recipe")
    copy = commands.add_parser("copy", help="copy a shipped recipe to a file you can edit")
    copy.add_argument("name", help="shipped recipe name (see: python -m gram_rr.recipes list)")
    copy.add_argument("dest", help="file to write, or an existing folder to copy into")
    copy.add_argument("--force", action="store_true", help="overwrite DEST when it exists")
    args = parser.parse_args(argv)
    if args.command == "list":
        recipes = shipped_recipes()
        width = max(map(len, recipes), default=0)
        for name, path in recipes.items():
            print(f"{name:<{width}}  {summary(path)}")
        print(f"(from {recipes_dir()}; copy one with: python -m gram_rr.recipes copy NAME DEST)")
        return 0
    target = copy_recipe(args.name, args.dest, force=args.force)
    print(f"copied {args.name} to {target}; run it with: python -m gram_rr.selftrain --recipe {target}")
    return 0


if __name__ == "__main__":
    from gram_rr.cli_errors import run_cli

    sys.exit(run_cli(main))
