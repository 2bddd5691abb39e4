"""Recipe loading: sections to typed dataclasses, overrides, interpolation, clear errors."""

from dataclasses import dataclass, field

import pytest

from gram_rr.config import ConfigError, from_dict, help_lines, load_yaml, parse_override


@dataclass
class Inner:
    rate: float = field(default=0.1, metadata={"help": "a rate"})
    names: list[str] = field(default_factory=list, metadata={"help": "names"})


@dataclass
class Outer:
    model: str = field(default="m", metadata={"help": "the model"})
    steps: int = field(default=1, metadata={"help": "steps"})
    limit: int | None = field(default=None, metadata={"help": "optional"})
    inner: Inner = field(default_factory=Inner)


def test_overrides_interpolation_and_types(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: base\nsteps: 2\ninner:\n  rate: 1\n  names: ['${model}-x']\n")
    tree = load_yaml(recipe, ["steps=5", "model=other", "limit=3"])
    config = from_dict(Outer, tree, where=str(recipe))
    assert config == Outer(model="other", steps=5, limit=3, inner=Inner(rate=1.0, names=["other-x"]))
    assert isinstance(config.inner.rate, float)


def test_errors_name_file_and_key(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("steps: two\n")
    with pytest.raises(ConfigError, match=r"r.yaml.steps: expected int, got 'two'"):
        from_dict(Outer, load_yaml(recipe), where=str(recipe))
    recipe.write_text("inner:\n  speed: 1\n")
    with pytest.raises(ConfigError, match=r"r.yaml.inner: unknown key\(s\) \['speed'\]"):
        from_dict(Outer, load_yaml(recipe), where=str(recipe))
    recipe.write_text("model: ${nowhere}\n")
    with pytest.raises(ConfigError, match="nowhere"):
        load_yaml(recipe)
    with pytest.raises(ConfigError, match="key=value"):
        parse_override("steps")
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text, message", [
    ("model: ${nope}\n", "r.yaml: model: ${nope} refers to a key that does not exist"),
    ("inner:\n  names: ['${inner.nope}']\n", "r.yaml: inner.names[0]: ${inner.nope} refers to a key"),
    ("model: ${inner.rate}\ninner:\n  rate: ${model}\n", "r.yaml: circular reference: model -> inner.rate -> model"),
    ("inner:\n  rate: 1\n  names: ['${inner}']\n", "r.yaml: circular reference: inner.names[0] -> inner"),
])
def test_bad_references_name_the_file_and_the_keys(tmp_path, text, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_yaml(recipe)
    assert str(err.value).startswith(str(tmp_path)) and message in str(err.value), err.value


def test_help_lines_cover_nested_fields():
    lines = help_lines(Outer)
    assert "inner.rate = 0.1: a rate" in lines and any(line.startswith("limit = None") for line in lines)


@pytest.mark.parametrize("name", ["cpu-default", "cpu-smoke", "llama-3.2-3b", "llama-3.1-8b"])
def test_shipped_recipes_load(name):
    from pathlib import Path

    from gram_rr.selftrain.recipe import load_recipe

    path = Path(__file__).resolve().parents[1] / "recipes" / f"{name}.yaml"
    recipe = load_recipe(path)
    assert recipe.rounds >= 1 and recipe.engine.model == recipe.model


def test_section_configs_apply_overrides_per_section_and_name_the_allowed_prefixes():
    from gram_rr.config import section_configs

    sections = {"outer": (Outer, {"model": "given"}), "inner": (Inner, {})}
    configs = section_configs(sections, ["outer.steps=4", "inner.names=[a, b]"])
    assert configs == {"outer": Outer(model="given", steps=4), "inner": Inner(names=["a", "b"])}
    with pytest.raises(ConfigError, match=r"^override 'judge.votes=2': keys start with 'outer.' or 'inner.'$"):
        section_configs(sections, ["judge.votes=2"])
    with pytest.raises(ConfigError, match=r"^outer: unknown key\(s\) \['speed'\]"):
        section_configs(sections, ["outer.speed=1"])


def test_apply_overrides_qualifies_bare_keys():
    from gram_rr.config import apply_overrides

    tree = apply_overrides({"s": {"steps": 1}}, ["steps=2", "s.model=x"], qualify=lambda k: k if "." in k else f"s.{k}")
    assert tree == {"s": {"steps": 2, "model": "x"}}


@dataclass
class Flags:
    out: str = field(default="here", metadata={"help": "where to write"})
    size_limit: int = field(default=3, metadata={"help": "how many"})
    rate: float = field(default=0.5, metadata={"help": "how fast"})


def test_dataclass_arguments_carry_type_default_and_help():
    import argparse

    from gram_rr.cli_args import add_dataclass_arguments, dataclass_from_args

    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, Flags)
    assert dataclass_from_args(Flags, parser.parse_args([])) == Flags()
    parsed = parser.parse_args(["--size-limit", "7", "--rate", "2"])
    assert dataclass_from_args(Flags, parsed) == Flags(size_limit=7, rate=2.0)
    assert "--size-limit SIZE_LIMIT" in parser.format_help() and "how many" in parser.format_help()
    with pytest.raises(SystemExit):
        parser.parse_args(["--size-limit", "many"])
    with pytest.raises(TypeError, match="Outer.limit"):
        add_dataclass_arguments(argparse.ArgumentParser(), Outer)
