"""Every ``python -m gram_rr...`` command the README shows answers ``--help`` with the flags it shows.

Commands come from the README's inline code (the command-line table included) and its fenced
code blocks; each module runs once with ``--help`` (``SUB --help`` for a subcommand), all in one
subprocess, so a renamed or removed flag fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
COMMAND = re.compile(r"python -m (gram_rr[\w.]*)([^`\n]*)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
TABLE_MODULES = {"gram_rr.selftrain", "gram_rr.train", "gram_rr.eval", "gram_rr.eval.compare", "gram_rr.rerank",
                 "gram_rr.bench", "gram_rr.recipes", "gram_rr.data.demo"}

# Runs each argv as ``python -m`` would (SystemExit caught) and prints
# {argv: [exit status, stdout, the option strings of the parser whose help was printed]}.
RUNNER = """
import argparse, contextlib, io, json, runpy, sys, warnings
print_help = argparse.ArgumentParser.print_help
shown = []

def recording_print_help(parser, file=None):
    shown.extend(option for action in parser._actions for option in action.option_strings)
    print_help(parser, file)

argparse.ArgumentParser.print_help = recording_print_help
results = {}
for argv in json.load(sys.stdin):
    out = io.StringIO()
    shown.clear()
    sys.argv = list(argv)
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    results[json.dumps(argv)] = [code, out.getvalue(), list(shown)]
print(json.dumps(results))
"""


def readme_commands() -> list[tuple[str, str]]:
    """``(module, arguments)`` for every command in the README, in order of appearance."""
    blocks = [re.sub(r"\\\n\s*", " ", block) for block in FENCED.findall(README)]
    spans = INLINE.findall(FENCED.sub("", README))
    commands = []
    for text in spans + blocks:
        for module, rest in COMMAND.findall(text):
            commands.append((module, re.split(r"\s(?:&&|#)\s", rest)[0].strip()))
    return commands


COMMANDS = readme_commands()


def run_help(argvs: list[list[str]]) -> dict[str, tuple[int, str, list[str]]]:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER], input=json.dumps(argvs), cwd=ROOT, capture_output=True, text=True,
        timeout=300, env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    return {key: tuple(value) for key, value in json.loads(done.stdout.splitlines()[-1]).items()}


def subcommand(arguments: str, module_help: str) -> str | None:
    """The subcommand ``arguments`` starts with, when the module's usage lists it as ``{a,b,...}``."""
    first = arguments.split()[0] if arguments.split() else ""
    choices = re.search(r"\{([\w,-]+)\}", module_help.split("\n\n")[0])
    return first if choices and first in choices.group(1).split(",") else None


@pytest.fixture(scope="module")
def helps() -> dict[str, tuple[int, str, list[str]]]:
    """``--help`` of every module the README names, then of every subcommand it uses."""
    modules = sorted({module for module, _ in COMMANDS})
    results = run_help([[module, "--help"] for module in modules])
    subs = sorted({(module, sub) for module, arguments in COMMANDS
                   if (sub := subcommand(arguments, results[json.dumps([module, "--help"])][1]))})
    if subs:
        results.update(run_help([[module, sub, "--help"] for module, sub in subs]))
    return results


def test_readme_shows_every_command_line_tool():
    assert {module for module, _ in COMMANDS} >= TABLE_MODULES


def test_readme_shell_scripts_exist():
    scripts = re.findall(r"`bash (scripts/[\w.-]+)", README)
    assert scripts and all((ROOT / script).is_file() for script in scripts), scripts


@pytest.mark.parametrize("module, arguments", COMMANDS, ids=[f"{m} {a}"[:80] for m, a in COMMANDS])
def test_command_help_lists_its_flags(helps, module, arguments):
    code, text, options = helps[json.dumps([module, "--help"])]
    assert code == 0 and text.startswith("usage:"), (module, code, text[:500])
    sub = subcommand(arguments, text)
    if sub:
        code, text, options = helps[json.dumps([module, sub, "--help"])]
        assert code == 0 and text.startswith("usage:"), (module, sub, code, text[:500])
    missing = [flag for flag in FLAG.findall(arguments) if flag not in options or flag not in text]
    assert not missing, f"README: python -m {module} {arguments}\n--help lacks {missing}"
