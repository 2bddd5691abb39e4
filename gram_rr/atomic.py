"""Atomic file writes: a temporary file in the target's folder, fsync, then ``os.replace``."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def atomic_write(path: str | Path, write: Callable[[IO[str]], None]) -> Path:
    """Call ``write(handle)`` on a temporary file and rename it to ``path``; readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_save(path: str | Path, save: Callable[[str], None]) -> Path:
    """Call ``save(temp_path)`` (e.g. ``fig.savefig``) and rename the result to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return atomic_write(path, lambda handle: handle.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n"))


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text``, atomically."""
    return atomic_write(path, lambda handle: handle.write(text))


COMPLETE_MARKER = ".gram_rr_complete"  # written last into a staged folder, before it is renamed into place


def mark_complete(folder: str | Path, note: str = "") -> None:
    """Mark a staged model folder as whole (:func:`is_complete`)."""
    (Path(folder) / COMPLETE_MARKER).write_text(note)


def is_complete(folder: str | Path) -> bool:
    """Whether ``folder`` was published whole (a half-written or killed copy has no marker)."""
    return (Path(folder) / COMPLETE_MARKER).is_file()
