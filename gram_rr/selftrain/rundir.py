"""The run directory: one folder per finished stage, and a manifest that says what is done.

A stage works in ``stages/.NAME.partial`` and is published by renaming it to
``stages/NAME`` and then recording it in ``manifest.json`` (written atomically). A crash
at any moment leaves either no record (the stage reruns; a training stage resumes from
its checkpoints in the partial folder) or a finished stage; never half a stage.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from gram_rr.atomic import write_json


class RecipeChangedError(RuntimeError):
    """The run directory was started with a different recipe."""


class RunDirectory:
    """Stages, their artifacts and the manifest of one self-training run."""

    def __init__(self, root: str | Path, recipe_hash: str, recipe: dict[str, Any], new_run: bool = False):
        self.root = Path(root).resolve()  # absolute: Ray workers and actors run in other directories
        self.manifest_path = self.root / "manifest.json"
        if new_run and self.root.exists():
            archived = self.root.with_name(f"{self.root.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(self.root, archived)
        if self.manifest_path.exists():
            self.manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            if self.manifest["recipe_hash"] != recipe_hash:
                raise RecipeChangedError(
                    f"{self.root} was started with another recipe (hash {self.manifest['recipe_hash']}, now "
                    f"{recipe_hash}). Resume with the original recipe, choose another output_dir, or pass "
                    "--new-run to archive the old run and start again."
                )
        else:
            self.manifest = {"recipe_hash": recipe_hash, "created": time.time(), "stages": {}}
        self.manifest["recipe"] = recipe
        (self.root / "stages").mkdir(parents=True, exist_ok=True)
        self._save()

    def _save(self) -> None:
        write_json(self.manifest_path, self.manifest)

    def done(self, stage: str) -> bool:
        return stage in self.manifest["stages"] and self.path(stage).is_dir()

    def info(self, stage: str) -> dict[str, Any]:
        return self.manifest["stages"][stage]

    def path(self, stage: str) -> Path:
        """Where a finished stage's artifacts live."""
        return self.root / "stages" / stage

    def partial(self, stage: str, keep: bool) -> Path:
        """The work folder of an unfinished stage; ``keep`` preserves an interrupted attempt."""
        work = self.root / "stages" / f".{stage}.partial"
        if work.exists() and not keep:
            shutil.rmtree(work)
        work.mkdir(parents=True, exist_ok=True)
        return work

    def finish(self, stage: str, work: Path, info: dict[str, Any]) -> None:
        """Publish a stage: rename its work folder into place, then record it."""
        final = self.path(stage)
        if final.exists():  # published but not recorded before a crash: the new attempt wins
            shutil.rmtree(final)
        os.replace(work, final)
        self.manifest["stages"][stage] = {**info, "finished": time.time()}
        self._save()
