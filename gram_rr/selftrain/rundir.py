"""The run directory: one folder per finished stage, and a manifest that says what is done.

A stage works in ``stages/.NAME.partial`` and is published by renaming it to
``stages/NAME`` and then recording it in ``manifest.json`` (written atomically). A crash
at any moment leaves either no record (the stage reruns; a training stage resumes from
its checkpoints in the partial folder, a generation stage from its chunk log there) or a
finished stage; never half a stage.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from gram_rr.atomic import write_json


class RecipeChangedError(RuntimeError):
    """The run directory was started with a different recipe."""


class RunDirectoryError(RuntimeError):
    """The run directory is in use by another run, or its manifest cannot be read."""


LOCK_FILE = "run.lock"


class RunDirectory:
    """Stages, their artifacts and the manifest of one self-training run."""

    def __init__(self, root: str | Path, recipe_hash: str, recipe: dict[str, Any], new_run: bool = False):
        self.root = Path(root).resolve()  # absolute: Ray workers and actors run in other directories
        self.manifest_path = self.root / "manifest.json"
        self._lock = self._take_lock()
        try:
            self._open(recipe_hash, recipe, new_run)
        except BaseException:
            self.close()
            raise

    def _open(self, recipe_hash: str, recipe: dict[str, Any], new_run: bool) -> None:
        if new_run and self.manifest_path.exists():
            archived = self.root.with_name(f"{self.root.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
            self.close()
            os.replace(self.root, archived)
            self._lock = self._take_lock()
        if self.manifest_path.exists():
            self.manifest = self._read_manifest()
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

    def _take_lock(self):
        """An exclusive lock on ``run.lock`` for this process's lifetime; a second run is refused."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / LOCK_FILE, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "a process that did not say who it is"
            handle.close()
            raise RunDirectoryError(
                f"{self.root} is in use by another run ({holder}); wait for it to finish or choose another output_dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        return handle

    def close(self) -> None:
        """Release the run directory's lock."""
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _read_manifest(self) -> dict[str, Any]:
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            if not isinstance(manifest, dict) or not isinstance(manifest.get("stages"), dict) or "recipe_hash" not in manifest:
                raise ValueError("not a gram-rr manifest (needs 'recipe_hash' and 'stages')")
        except ValueError as err:
            raise RunDirectoryError(
                f"{self.manifest_path}: cannot be read ({err}). gram-rr writes it atomically, so it was changed "
                "outside gram-rr: restore it, or pass --new-run to archive this run directory and start again."
            ) from None
        return manifest

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
