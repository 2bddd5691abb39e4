"""Rows of Parquet files and ``datasets`` folders (``Dataset.save_to_disk``) as raw records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gram_rr.data.errors import DataError
from gram_rr.data.io import Raw

PARQUET_MAGIC = b"PAR1"
_BATCH_ROWS = 1024
_PANDAS_INDEX = "__index_level_"  # pandas' to_parquet keeps a non-default index as such a column


def is_table(path: str | Path) -> bool:
    """Whether ``path`` is a folder (read as a ``datasets`` folder) or a file with Parquet's magic bytes."""
    path = Path(path)
    if path.is_dir():
        return True
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        return handle.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC


def iter_table(path: str | Path) -> Iterator[Raw]:
    """Every row as a dict (an empty cell is None), located by its 0-based row number."""
    import pyarrow as pa

    path = Path(path)
    file = str(path)
    kind, rows = ("datasets folder", _dataset_rows(path)) if path.is_dir() else ("Parquet file", _parquet_rows(path))
    try:
        for index, value in enumerate(rows):
            yield Raw(index, None, None, value, row=index)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(file, None, None, f"not a readable {kind} ({exc})") from exc


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        columns = [name for name in parquet.schema_arrow.names if not name.startswith(_PANDAS_INDEX)]
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=columns):
            yield from batch.to_pylist()


def _dataset_rows(path: Path) -> Iterator[dict[str, Any]]:
    if (path / "dataset_dict.json").is_file():
        splits = ", ".join(sorted(p.name for p in path.iterdir() if p.is_dir()))
        raise DataError(str(path), None, None, f"a DatasetDict folder (splits: {splits}); pass one split's folder")
    if not (path / "state.json").is_file():
        raise DataError(str(path), None, None, "a folder that datasets' save_to_disk did not write (no state.json)")
    from datasets import load_from_disk

    dataset = load_from_disk(str(path))
    for table in dataset.with_format("arrow").iter(batch_size=_BATCH_ROWS):
        yield from table.to_pylist()
