"""Typed recipe configs: dataclasses with help text, loaded from YAML plus ``key=value`` overrides.

A recipe is a YAML file whose top-level sections map onto dataclasses. Values may refer
to other values with ``${dotted.key}`` (resolved after overrides). Unknown keys and
wrong types are errors that name the file and the key.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
_REF = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")


class ConfigError(ValueError):
    """A recipe that cannot be used; the message names the file and the key."""


def parse_override(text: str) -> tuple[str, Any]:
    """``train.learning_rate=1e-4`` -> ``("train.learning_rate", 0.0001)`` (values parsed as YAML)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not of the form key=value (e.g. train.epochs=2)")
    return key.strip().lstrip("-"), yaml.safe_load(value) if value.strip() else None


def apply_overrides(
    tree: dict[str, Any],
    overrides: Sequence[str],
    sections: Sequence[str] = (),
    qualify: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Set every ``key=value`` of ``overrides`` in ``tree`` (in place) and return it.

    ``qualify`` rewrites each key first (e.g. a bare ``epochs`` to ``prover_train.epochs``);
    with ``sections``, a key must start with one of them.
    """
    for text in overrides:
        key, value = parse_override(text)
        if qualify is not None:
            key = qualify(key)
        if sections and key.split(".")[0] not in sections:
            prefixes = [f"'{name}.'" for name in sections]
            allowed = prefixes[0] if len(prefixes) == 1 else f"{', '.join(prefixes[:-1])} or {prefixes[-1]}"
            raise ConfigError(f"override {text!r}: keys start with {allowed}")
        set_dotted(tree, key, value)
    return tree


def section_configs(sections: dict[str, tuple[type, dict[str, Any]]], overrides: Sequence[str]) -> dict[str, Any]:
    """One dataclass per section, from its given values plus ``section.key=value`` overrides.

    ``sections`` maps a section name to its dataclass and starting values, e.g.
    ``{"judge": (JudgeConfig, {}), "engine": (EngineConfig, {"model": "m"})}``.
    """
    tree = {name: dict(values) for name, (_, values) in sections.items()}
    apply_overrides(tree, overrides, sections=tuple(sections))
    return {name: from_dict(cls, tree[name], name) for name, (cls, _) in sections.items()}


def set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    node = tree
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {key!r}: {part!r} is not a section")
    node[parts[-1]] = value


def get_dotted(tree: dict[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"${{{key}}} refers to a key that does not exist")
        node = node[part]
    return node


def interpolate(tree: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Resolve ``${a.b}`` references (whole-value references keep the referenced type).

    A reference to a missing key names the key that holds it, a circular one every key on
    the circle; ``where`` (the recipe file) starts the message.
    """
    prefix = f"{where}: " if where else ""

    def follow(key: str, at: str, chain: tuple[str, ...]) -> Any:
        path = (*chain, at)
        if any(p == key or p.startswith((key + ".", key + "[")) for p in path):  # the key, or a value inside it
            raise ConfigError(f"{prefix}circular reference: {' -> '.join((*path, key))}")
        try:
            target = get_dotted(tree, key)
        except ConfigError as err:
            raise ConfigError(f"{prefix}{at}: {err}") from None
        return resolve(target, key, path)

    def resolve(value: Any, at: str, chain: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v, f"{at}.{k}" if at else str(k), chain) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v, f"{at}[{i}]", chain) for i, v in enumerate(value)]
        if isinstance(value, str):
            whole = _REF.fullmatch(value)
            if whole:
                return follow(whole.group(1), at, chain)
            return _REF.sub(lambda m: str(follow(m.group(1), at, chain)), value)
        return value

    return resolve(tree, "", ())


def load_yaml(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """A recipe file as a dict, with overrides applied and references resolved."""
    path = Path(path)
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"recipe {path} not found; see recipes/ for the shipped ones") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: a recipe must be a mapping of sections")
    return interpolate(apply_overrides(tree, overrides), str(path))


def from_dict(cls: type[T], values: dict[str, Any] | None, where: str = "") -> T:
    """Build dataclass ``cls`` from a dict, checking keys and types (nested dataclasses too).

    A field's ``metadata["check"]`` (a function of the value and its dotted key) checks what
    types alone cannot and returns the value to use.
    """
    values = values or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where or cls.__name__}: unknown key(s) {unknown}; known: {sorted(fields)}")
    kwargs = {}
    for name, value in values.items():
        key = f"{where}.{name}" if where else name
        kwargs[name] = _coerce(hints[name], value, key)
        _check_range(fields[name], kwargs[name], key)
        if "check" in fields[name].metadata:
            kwargs[name] = fields[name].metadata["check"](kwargs[name], key)
    return cls(**kwargs)


def _check_range(field: dataclasses.Field, value: Any, where: str) -> None:
    """Enforce a field's ``metadata["range"] = (low, high)`` (inclusive; None: unbounded)."""
    bounds = field.metadata.get("range")
    if bounds is None or value is None or isinstance(value, bool):
        return
    low, high = bounds
    if (low is not None and value < low) or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"<= {high}" if low is None else f"in [{low}, {high}]"
        raise ConfigError(f"{where}: {value!r} is out of range; allowed: {allowed}")


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{where}: {value!r} is not one of {list(typing.get_args(hint))}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint)[:1] or (Any,)
        return [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or hint is Any:
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    if isinstance(hint, type) and not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as plain data (for manifests and ``--dry-run``)."""
    return dataclasses.asdict(config)


def help_lines(cls: type, prefix: str = "") -> list[str]:
    """``key (type, default): help`` for every field, nested sections included."""
    lines = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hints[f.name]):
            lines += help_lines(hints[f.name], key + ".")
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "required"  # type: ignore[misc]
        )
        lines.append(f"{key} = {default!r}: {f.metadata.get('help', '')}")
    return lines
