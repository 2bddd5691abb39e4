"""argparse from typed configs: a flag per dataclass field, and the ``key=value`` overrides' help."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import TypeVar

from gram_rr.config import help_lines

T = TypeVar("T")
_FLAG_TYPES = (str, int, float)


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """``--field-name`` for every field of ``cls``: its type, default and ``metadata["help"]``."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if hints[f.name] not in _FLAG_TYPES:
            raise TypeError(f"{cls.__name__}.{f.name}: a flag needs one of {[t.__name__ for t in _FLAG_TYPES]}")
        parser.add_argument(
            f"--{f.name.replace('_', '-')}", dest=f.name, type=hints[f.name], default=f.default,
            help=f.metadata["help"],
        )


def dataclass_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """``cls`` built from the parsed flags that :func:`add_dataclass_arguments` added."""
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def overrides_epilog(sections: dict[str, type]) -> str:
    """Help text listing every ``section.key=value`` override (section name -> dataclass)."""
    lines = [line for name, cls in sections.items() for line in help_lines(cls, f"{name}.")]
    return "overrides (key=value):\n  " + "\n  ".join(lines)
