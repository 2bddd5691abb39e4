"""``python -m gram_rr.bench``: the speed benchmark against the reference README's loop (``--help``: its options).

The harness is ``benchmarks/throughput_vs_reference.py``, outside the library package (as
vLLM keeps its ``benchmarks/``): importing gram_rr never loads it. A wheel carries the folder
among the shipped files (:mod:`gram_rr.resources`); this module loads the file from there, or
from the checkout, and runs it.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from gram_rr.resources import shipped_path

HARNESS = ("benchmarks", "throughput_vs_reference.py")
HARNESS_MODULE = "throughput_vs_reference"


def load_harness() -> ModuleType:
    """The harness as a module (loaded once per process)."""
    if HARNESS_MODULE in sys.modules:
        return sys.modules[HARNESS_MODULE]
    spec = importlib.util.spec_from_file_location(HARNESS_MODULE, shipped_path(*HARNESS))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[HARNESS_MODULE] = module  # its dataclasses look the module up while it loads
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[HARNESS_MODULE]
        raise
    return module


def main(argv: list[str] | None = None) -> int:
    return load_harness().main(argv)


if __name__ == "__main__":
    sys.exit(main())
