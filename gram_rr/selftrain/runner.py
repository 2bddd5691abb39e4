"""Run a recipe's stages in order against its run directory, refreshing the report."""

from __future__ import annotations

import json
from pathlib import Path

from tqdm.auto import tqdm

from gram_rr.config import to_dict
from gram_rr.engines.pool import engine_ray_session
from gram_rr.selftrain.recipe import SelfTrainRecipe, recipe_hash
from gram_rr.selftrain.report import markdown, write_report
from gram_rr.selftrain.rundir import RunDirectory
from gram_rr.selftrain.stages import Pipeline


def plan_lines(recipe: SelfTrainRecipe) -> list[str]:
    """The stage plan as text (loading the data checks its paths and sizes), marking finished stages."""
    manifest_path = Path(recipe.output_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    finished = manifest.get("stages", {}) if manifest.get("recipe_hash") == recipe_hash(recipe) else {}
    pipeline = Pipeline(recipe, run=None)
    lines = [f"run directory: {recipe.output_dir} (recipe hash {recipe_hash(recipe)})"]
    if manifest and manifest.get("recipe_hash") != recipe_hash(recipe):
        lines.append(f"  it holds a run of another recipe (hash {manifest.get('recipe_hash')}): this one would be refused "
                     "(--new-run archives it)")
    lines += [
        f"data: {len(pipeline.seed_pairs)} seed, {pipeline.labeled_count} labeled, "
        f"{recipe.rounds} x {recipe.data.unlabeled_per_round} unlabeled, {len(pipeline.test_pairs)} test pairs",
    ]
    for stage in pipeline.stages():
        lines.append(f"  [{'done' if stage.name in finished else 'todo'}] {stage.name:<12} {stage.title}")
    return lines


def run(recipe: SelfTrainRecipe, new_run: bool = False) -> Path:
    """Run every unfinished stage; returns the run directory."""
    run_dir = RunDirectory(recipe.output_dir, recipe_hash(recipe), to_dict(recipe), new_run=new_run)
    try:
        pipeline = Pipeline(recipe, run_dir)
    except BaseException:
        run_dir.close()
        raise
    stages = pipeline.stages()
    # One Ray for the whole run (local unless engine.ray_address / $RAY_ADDRESS), shared by its engines and training.
    ray_session = engine_ray_session(recipe.engine).open() if recipe.use_ray else None
    try:
        with tqdm(total=len(stages), desc="self-training", unit="stage") as bar:
            for stage in stages:
                bar.set_postfix_str(stage.name)
                if not run_dir.done(stage.name):
                    tqdm.write(f"[gram-rr] {stage.name}: {stage.title}")
                    info = pipeline.execute(stage)
                    tqdm.write(f"[gram-rr] {stage.name} finished in {info['seconds']} s")
                    write_report(run_dir.root, run_dir.manifest)
                bar.update()
        rows = write_report(run_dir.root, run_dir.manifest)
    finally:
        pipeline.close()
        if ray_session is not None:
            ray_session.close()
        run_dir.close()
    print(markdown(run_dir.manifest, rows))
    print(f"report: {run_dir.root / 'report.md'} and {run_dir.root / 'report.png'}")
    return run_dir.root
