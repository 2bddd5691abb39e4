"""A non-editable install works: the wheel carries prompts, recipes and demo data, and the CLIs run from any directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from gram_rr.config import ConfigError
from gram_rr.prompts import JUDGE_TEMPLATE, PROVER_TEMPLATE, load_template
from gram_rr.recipes import copy_recipe, resolve_recipe, shipped_recipes
from gram_rr.resources import SHIPPED_FOLDERS, data_path, shipped_root
from gram_rr.selftrain.recipe import load_recipe

REPO = Path(__file__).resolve().parents[1]
# What the package build reads: its metadata, the build hook, the sdist manifest, the package and the shipped folders.
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "gram_rr", *SHIPPED_FOLDERS)
DEMO_SPLITS = ("seed", "labeled", "unlabeled", "test")


def repo_shipped_files() -> dict[str, bytes]:
    """Relative path -> bytes of every file the wheel must carry from the top-level folders."""
    files = {}
    for folder in SHIPPED_FOLDERS:
        for path in sorted((REPO / folder).rglob("*")):
            relative = path.relative_to(REPO)
            if path.is_file() and not any(part.startswith((".", "__pycache__")) for part in relative.parts):
                files[relative.as_posix()] = path.read_bytes()
    return files


# ---- checkout (editable install) ------------------------------------------------------------


def test_checkout_reads_the_top_level_folders():
    assert shipped_root() == REPO
    for name in (JUDGE_TEMPLATE, PROVER_TEMPLATE):
        assert load_template(name) == (REPO / "prompts" / name).read_text(encoding="utf-8").strip()
    assert shipped_recipes() == {path.stem: path for path in sorted((REPO / "recipes").glob("*.yaml"))}


def test_recipe_names_resolve_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    smoke = REPO / "recipes" / "cpu-smoke.yaml"
    for spelling in ("cpu-smoke", "cpu-smoke.yaml", "recipes/cpu-smoke.yaml"):
        assert resolve_recipe(spelling) == smoke
    local = tmp_path / "recipes" / "cpu-smoke.yaml"
    local.parent.mkdir()
    local.write_text("rounds: 2\n")
    assert resolve_recipe("recipes/cpu-smoke.yaml") == Path("recipes/cpu-smoke.yaml")  # a file that exists wins
    assert load_recipe("recipes/cpu-smoke.yaml").rounds == 2
    for missing in ("no-such-recipe", "elsewhere/cpu-smoke.yaml", str(tmp_path / "absent.yaml")):
        with pytest.raises(ConfigError, match="not found.*cpu-smoke"):
            resolve_recipe(missing)


def test_relative_data_paths_prefer_the_current_directory_then_the_shipped_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = "data/demo/seed.jsonl"
    assert data_path(relative) == REPO / relative
    assert data_path("data/demo/absent.jsonl") == Path("data/demo/absent.jsonl")  # left for the reader's clear error
    assert data_path(tmp_path / "x.jsonl") == tmp_path / "x.jsonl"
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_text("")
    assert data_path(relative) == Path(relative)


def test_copy_recipe_refuses_to_overwrite_without_force(tmp_path):
    source = (REPO / "recipes" / "cpu-smoke.yaml").read_bytes()
    dest = tmp_path / "mine" / "smoke.yaml"
    assert copy_recipe("cpu-smoke", dest) == dest
    assert dest.read_bytes() == source
    assert copy_recipe("cpu-smoke.yaml", tmp_path) == tmp_path / "cpu-smoke.yaml"  # into an existing folder
    dest.write_text("edited: true\n")
    with pytest.raises(ValueError, match="already exists; pass --force"):
        copy_recipe("cpu-smoke", dest)
    assert dest.read_text() == "edited: true\n"
    copy_recipe("cpu-smoke", dest, force=True)
    assert dest.read_bytes() == source
    with pytest.raises(ConfigError, match="no shipped recipe named 'nope'"):
        copy_recipe("nope", tmp_path / "nope.yaml")


# ---- a wheel installed outside the checkout -------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from a copy of the build inputs, installed with pip into a fresh folder (no network)."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", root / "dist", source], check=True, timeout=120)
    (wheel,) = (root / "dist").glob("gram_rr-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", root / "site", wheel], check=True, timeout=120)
    return root


def run_installed(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``python args...`` in ``cwd`` with only the installed copy of gram-rr importable first."""
    env = {**os.environ, "PYTHONPATH": str(installed / "site")}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.packaging
def test_wheel_carries_every_shipped_file(installed):
    (wheel,) = (installed / "dist").glob("gram_rr-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name.removeprefix("gram_rr/_resources/"): archive.read(name)
                    for name in archive.namelist() if name.startswith("gram_rr/_resources/")}
    assert packaged == repo_shipped_files()


@pytest.mark.packaging
def test_installed_copy_resolves_prompts_recipes_and_data_without_the_checkout(installed, tmp_path):
    script = textwrap.dedent("""
        import json
        import gram_rr
        from gram_rr.prompts import JUDGE_TEMPLATE, PROVER_TEMPLATE, load_template
        from gram_rr.recipes import resolve_recipe, shipped_recipes
        from gram_rr.resources import data_path, shipped_path, shipped_root
        from gram_rr.selftrain.recipe import load_recipe

        recipes = {}
        for name in shipped_recipes():
            recipe = load_recipe(name)
            splits = [recipe.data.seed, recipe.data.labeled, recipe.data.unlabeled, recipe.data.test]
            recipes[name] = {"file": str(resolve_recipe(name)),
                             "data": [str(data_path(s)) for s in splits if not s.startswith("/")]}
        print(json.dumps({
            "package": gram_rr.__file__,
            "root": str(shipped_root()),
            "templates": {n: [str(shipped_path("prompts", n)), load_template(n)] for n in (JUDGE_TEMPLATE, PROVER_TEMPLATE)},
            "recipes": recipes,
        }))
    """)
    done = run_installed(installed, tmp_path, "-c", script)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    site = installed / "site" / "gram_rr"
    assert Path(found["package"]).parent == site
    assert Path(found["root"]) == site / "_resources"
    for name, (path, text) in found["templates"].items():
        assert Path(path) == site / "_resources" / "prompts" / name
        assert text == (REPO / "prompts" / name).read_text(encoding="utf-8").strip()
    assert sorted(found["recipes"]) == sorted(shipped_recipes())
    for name, recipe in found["recipes"].items():
        assert Path(recipe["file"]) == site / "_resources" / "recipes" / f"{name}.yaml"
        for path in recipe["data"]:
            assert Path(path).is_relative_to(site / "_resources" / "data") and Path(path).is_file(), (name, path)
    smoke = found["recipes"]["cpu-smoke"]["data"]
    assert [Path(p).relative_to(site / "_resources") for p in smoke] == [Path("data/demo", f"{s}.jsonl") for s in DEMO_SPLITS]
    assert not any(str(REPO) in line for line in done.stdout.splitlines())


@pytest.mark.packaging
def test_installed_cli_dry_runs_and_copies_a_recipe_from_another_directory(installed, tmp_path):
    smoke = load_recipe("cpu-smoke")
    data_line = (f"data: {smoke.data.seed_size} seed, {smoke.data.labeled_size} labeled, "
                 f"1 x {smoke.data.unlabeled_per_round} unlabeled, {smoke.data.test_size} test pairs")

    dry = run_installed(installed, tmp_path, "-m", "gram_rr.selftrain", "--recipe", "cpu-smoke", "--rounds", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert data_line in dry.stdout
    assert not (tmp_path / smoke.output_dir).exists()  # a dry run creates nothing

    copied = run_installed(installed, tmp_path, "-m", "gram_rr.recipes", "copy", "cpu-smoke", "mine.yaml")
    assert copied.returncode == 0, copied.stderr
    assert (tmp_path / "mine.yaml").read_bytes() == (REPO / "recipes" / "cpu-smoke.yaml").read_bytes()
    again = run_installed(installed, tmp_path, "-m", "gram_rr.recipes", "copy", "cpu-smoke", "mine.yaml")
    assert again.returncode == 2 and "already exists; pass --force" in again.stderr
    assert "Traceback" not in again.stderr

    # the copy's relative data paths (data/demo/...) find the packaged demo data from here too
    mine = run_installed(installed, tmp_path, "-m", "gram_rr.selftrain", "--recipe", "mine.yaml", "--rounds", "1", "--dry-run")
    assert mine.returncode == 0, mine.stderr
    assert data_line in mine.stdout

    listed = run_installed(installed, tmp_path, "-m", "gram_rr.recipes", "list")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[:-1]] == sorted(shipped_recipes())
    assert str(installed / "site" / "gram_rr" / "_resources" / "recipes") in listed.stdout.splitlines()[-1]


@pytest.mark.packaging
def test_installed_speed_benchmark_runs_from_the_shipped_harness(installed, tmp_path):
    """``python -m gram_rr.bench`` loads benchmarks/throughput_vs_reference.py from the wheel's shipped files."""
    done = run_installed(installed, tmp_path, "-m", "gram_rr.bench", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m gram_rr.bench") and "--sections" in done.stdout
    script = "from gram_rr.bench import load_harness; print(load_harness().__file__)"
    located = run_installed(installed, tmp_path, "-c", script)
    assert located.returncode == 0, located.stderr
    shipped = installed / "site" / "gram_rr" / "_resources" / "benchmarks" / "throughput_vs_reference.py"
    assert Path(located.stdout.strip()) == shipped
