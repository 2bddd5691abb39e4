"""Build hook: the wheel carries the top-level prompts/, recipes/, data/ and benchmarks/ folders as gram_rr/_resources/.

Everything else about the package is in pyproject.toml. At run time gram_rr.resources finds
these files inside the installed package, or the top-level folders of a checkout (editable install).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED_FOLDERS = ("prompts", "recipes", "data", "benchmarks")
PACKAGED = Path("gram_rr", "_resources")


def shipped_files() -> list[Path]:
    """Every file of the shipped folders, relative to the repository root (hidden files and caches left out)."""
    found = []
    for folder in SHIPPED_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            relative = path.relative_to(ROOT)
            if path.is_file() and not any(part.startswith((".", "__pycache__")) for part in relative.parts):
                found.append(relative)
    return found


class BuildPyWithResources(build_py):
    """``build_py`` that also copies the shipped folders into the package (an editable install reads them in place)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for relative in shipped_files():
            target = Path(self.build_lib, PACKAGED, relative)
            self.mkpath(str(target.parent))
            self.copy_file(str(ROOT / relative), str(target))


setup(cmdclass={"build_py": BuildPyWithResources})
