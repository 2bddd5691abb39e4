"""A stored tree as readable rules: one line per leaf, its path's conditions and outcome."""

from __future__ import annotations

from gram_rr.analyze.features import POSITION_COLUMN
from gram_rr.analyze.tree_model import LEAF, StoredTree

OUTCOMES = {"gold": {1: "A (shown first) is better", 0: "B (shown second) is better"},
            "judge": {1: "judge picks the first shown", 0: "judge picks the second shown"}}


def outcome(tree: StoredTree, cls: int) -> str:
    return OUTCOMES.get(tree.target, OUTCOMES["gold"])[cls]


def is_binary(tree: StoredTree, name: str) -> bool:
    """One-hot metadata columns and ``gold_first`` hold only 0 and 1."""
    return name == POSITION_COLUMN or any(name.startswith(f"{key}=") for key, _ in tree.spec.metadata)


def split_text(tree: StoredTree, node: int, left: bool) -> str:
    """The condition of going to ``node``'s left (``<=``) or right (``>``) child."""
    name, threshold = tree.features[tree.feature[node]], tree.threshold[node]
    if is_binary(tree, name) and 0.0 <= threshold < 1.0:
        if name == POSITION_COLUMN:
            return "gold winner shown second" if left else "gold winner shown first"
        key, value = name.split("=", 1)
        return f"{key} is not {value}" if left else f"{key} is {value}"
    return f"{name} {'<=' if left else '>'} {threshold:.4g}"


def leaf_rules(tree: StoredTree) -> dict[int, str]:
    """``leaf node -> "IF ... THEN outcome (P(first) = p, n training rows)"``; numeric bounds on
    the same feature along a path merge into one range."""
    rules: dict[int, str] = {}
    stack: list[tuple[int, list[tuple[int, int, bool]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if tree.left[node] != LEAF:
            stack.append((tree.right[node], path + [(node, tree.feature[node], False)]))
            stack.append((tree.left[node], path + [(node, tree.feature[node], True)]))
            continue
        conditions = _conditions(tree, path)
        value = tree.value[node]
        p_first = value[tree.classes.index(1)] if 1 in tree.classes else 0.0
        best = tree.classes[max(range(len(value)), key=lambda k: (value[k], -k))]
        where = " AND ".join(conditions) if conditions else "always"
        rules[node] = f"IF {where} THEN {outcome(tree, best)} (P(first) = {p_first:.2f}, {tree.samples[node]} rows)"
    return rules


def _conditions(tree: StoredTree, path: list[tuple[int, int, bool]]) -> list[str]:
    ranges: dict[int, list[float | None]] = {}
    order: list[int | tuple[int, bool]] = []
    texts: dict[tuple[int, bool], str] = {}
    for node, feature, left in path:
        name = tree.features[feature]
        if is_binary(tree, name):
            texts[(node, left)] = split_text(tree, node, left)
            order.append((node, left))
            continue
        if feature not in ranges:
            ranges[feature] = [None, None]
            order.append(feature)
        low, high = ranges[feature]
        if left:
            ranges[feature][1] = tree.threshold[node] if high is None else min(high, tree.threshold[node])
        else:
            ranges[feature][0] = tree.threshold[node] if low is None else max(low, tree.threshold[node])
    out = []
    for item in order:
        if isinstance(item, tuple):
            out.append(texts[item])
            continue
        low, high = ranges[item]
        name = tree.features[item]
        if low is not None and high is not None:
            out.append(f"{low:.4g} < {name} <= {high:.4g}")
        else:
            out.append(f"{name} <= {high:.4g}" if high is not None else f"{name} > {low:.4g}")
    return out


def rules_text(tree: StoredTree) -> str:
    """Every leaf's rule, left to right, one per line."""
    return "\n".join(rule for _, rule in sorted(leaf_rules(tree).items())) + "\n"
