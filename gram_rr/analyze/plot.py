"""Draw a stored tree as a PNG: split nodes with their condition, leaves coloured by P(first)."""

from __future__ import annotations

from pathlib import Path

from gram_rr.analyze.rules import outcome, split_text
from gram_rr.analyze.tree_model import LEAF, StoredTree
from gram_rr.atomic import atomic_save


def _layout(tree: StoredTree) -> dict[int, tuple[float, int]]:
    """``node -> (x, depth)``: leaves at 0, 1, 2, ... left to right, a split above its children's middle."""
    places: dict[int, tuple[float, int]] = {}
    next_leaf = [0]

    def place(node: int, depth: int) -> float:
        if tree.left[node] == LEAF:
            x = float(next_leaf[0])
            next_leaf[0] += 1
        else:
            x = (place(tree.left[node], depth + 1) + place(tree.right[node], depth + 1)) / 2
        places[node] = (x, depth)
        return x

    place(0, 0)
    return places


def draw_tree(tree: StoredTree, path: str | Path, title: str = "") -> Path:
    """Save the tree's picture to ``path`` (PNG), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    places = _layout(tree)
    leaves = sum(1 for node in places if tree.left[node] == LEAF)
    depth = max(d for _, d in places.values())
    fig, ax = plt.subplots(figsize=(max(4.0, 2.6 * leaves), 1.0 + 1.5 * (depth + 1)))
    cmap = plt.get_cmap("coolwarm_r")
    for node, (x, d) in places.items():
        if tree.left[node] != LEAF:
            for child, left in ((tree.left[node], True), (tree.right[node], False)):
                cx, cd = places[child]
                ax.plot([x, cx], [-d, -cd], color="0.6", zorder=1)
                ax.text((x + cx) / 2, -(d + cd) / 2, "yes" if left else "no", fontsize=7, ha="center",
                        color="0.3", backgroundcolor="white", zorder=2)
            text = f"{split_text(tree, node, True)}?\n{tree.samples[node]} rows"
            color = "0.92"
        else:
            value = tree.value[node]
            p_first = value[tree.classes.index(1)] if 1 in tree.classes else 0.0
            best = tree.classes[max(range(len(value)), key=lambda k: (value[k], -k))]
            text = f"{outcome(tree, best)}\nP(first) = {p_first:.2f}\n{tree.samples[node]} rows"
            color = cmap(0.2 + 0.6 * p_first)  # the middle of the map keeps text readable
        ax.text(x, -d, text, ha="center", va="center", fontsize=8, zorder=3,
                bbox={"boxstyle": "round", "facecolor": color, "edgecolor": "0.4"})
    ax.set_xlim(-0.7, leaves - 0.3)
    ax.set_ylim(-depth - 0.6, 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    try:
        return atomic_save(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    finally:
        plt.close(fig)
