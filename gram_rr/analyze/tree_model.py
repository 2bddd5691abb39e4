"""A fitted preference tree as plain JSON (never a pickle): the node arrays of a scikit-learn tree.

The file holds ``format``/``version``, the ``target`` it predicts, the feature ``spec`` and column
names, the ``classes`` (1: the response shown first is preferred, 0: the second) and per node:
``feature`` and ``threshold`` of its split (go left when ``x[feature] <= threshold``), its
``left``/``right`` children (-1 for a leaf), ``value`` (class fractions in ``classes`` order) and
``samples``. Features are compared as float32, as scikit-learn does, so predictions match its tree exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gram_rr.analyze.features import FeatureSpec
from gram_rr.atomic import write_json
from gram_rr.data.errors import DataError

FORMAT = "gram-rr-decision-tree"
VERSION = 1
LEAF = -1
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
_PICKLE_MAGIC = b"\x80"
PICKLE_REFUSAL = (
    "a pickled tree (such as Decision-Tree-Reward's decision_tree.pkl) is never loaded: unpickling runs whatever "
    "code the file holds. Fit a tree with `python -m gram_rr.analyze tree ... --out DIR` (DIR/tree.json), or "
    "convert a tree you trust in a separate environment with "
    "gram_rr.analyze.StoredTree.from_sklearn(estimator, spec, target).save(PATH)"
)


@dataclass
class StoredTree:
    target: str
    spec: FeatureSpec
    classes: list[int]
    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[list[float]]
    samples: list[int]

    @property
    def features(self) -> list[str]:
        return self.spec.names

    @classmethod
    def from_sklearn(cls, estimator: Any, spec: FeatureSpec, target: str) -> "StoredTree":
        """The arrays of a fitted ``DecisionTreeClassifier`` (trained on ``spec``'s columns, classes 0/1)."""
        tree = estimator.tree_
        if tree.n_features != len(spec.names):
            raise ValueError(f"the tree reads {tree.n_features} features, the spec names {len(spec.names)}")
        values = tree.value[:, 0, :]
        fractions = values / values.sum(axis=1, keepdims=True)  # older scikit-learn stores counts
        leaf = tree.children_left == LEAF
        return cls(
            target=target,
            spec=spec,
            classes=[int(c) for c in estimator.classes_],
            feature=[LEAF if is_leaf else int(f) for f, is_leaf in zip(tree.feature, leaf)],
            threshold=[0.0 if is_leaf else float(t) for t, is_leaf in zip(tree.threshold, leaf)],
            left=[int(c) for c in tree.children_left],
            right=[int(c) for c in tree.children_right],
            value=[[float(v) for v in row] for row in fractions],
            samples=[int(n) for n in tree.n_node_samples],
        )

    # -- prediction ---------------------------------------------------------------------

    def leaf(self, x: Sequence[float]) -> int:
        """The leaf ``x`` falls into (features compared as float32, thresholds as float64)."""
        node = 0
        while self.left[node] != LEAF:
            go_left = float(np.float32(x[self.feature[node]])) <= self.threshold[node]
            node = self.left[node] if go_left else self.right[node]
        return node

    def proba_first(self, x: Sequence[float]) -> float:
        """P(the response shown first is preferred) at ``x``'s leaf."""
        value = self.value[self.leaf(x)]
        return value[self.classes.index(1)] if 1 in self.classes else 0.0

    def predict(self, x: Sequence[float]) -> int:
        """The leaf's most frequent class (the first of equal ones, as scikit-learn's argmax)."""
        value = self.value[self.leaf(x)]
        return self.classes[max(range(len(value)), key=lambda k: (value[k], -k))]

    def depth(self, node: int = 0) -> int:
        if self.left[node] == LEAF:
            return 0
        return 1 + max(self.depth(self.left[node]), self.depth(self.right[node]))

    # -- JSON ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": VERSION, "target": self.target, "features": self.features,
            "spec": self.spec.to_dict(), "classes": self.classes,
            "nodes": {"feature": self.feature, "threshold": self.threshold, "left": self.left, "right": self.right,
                      "value": self.value, "samples": self.samples},
        }

    def save(self, path: str | Path) -> Path:
        """Write the tree as JSON, atomically."""
        return write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, file: str = "<tree>") -> "StoredTree":
        """A tree from :meth:`to_dict`'s data; any inconsistency is a DataError naming the field."""
        def bad(field: str, message: str) -> DataError:
            return DataError(file, None, field, message)

        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise bad("format", f"not a gram-rr tree file (expected format {FORMAT!r})")
        if data.get("version") != VERSION:
            raise bad("version", f"version {data.get('version')!r}; this gram-rr reads version {VERSION}")
        try:
            spec = FeatureSpec.from_dict(data["spec"])
            nodes = data["nodes"]
            tree = cls(
                target=str(data["target"]), spec=spec, classes=[int(c) for c in data["classes"]],
                feature=[int(v) for v in nodes["feature"]], threshold=[float(v) for v in nodes["threshold"]],
                left=[int(v) for v in nodes["left"]], right=[int(v) for v in nodes["right"]],
                value=[[float(v) for v in row] for row in nodes["value"]], samples=[int(v) for v in nodes["samples"]],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise bad(None, f"malformed tree ({type(err).__name__}: {err})") from None
        if data.get("features") != spec.names:
            raise bad("features", f"{data.get('features')} do not match the spec's columns {spec.names}")
        tree._check(bad)
        return tree

    def _check(self, bad) -> None:
        count = len(self.left)
        arrays = {"feature": self.feature, "threshold": self.threshold, "right": self.right, "value": self.value,
                  "samples": self.samples}
        for name, array in arrays.items():
            if len(array) != count:
                raise bad(f"nodes.{name}", f"{len(array)} entries for {count} nodes")
        if count == 0 or not set(self.classes) <= {0, 1} or not self.classes:
            raise bad("classes", "a tree needs nodes and classes among 0 and 1")
        for node in range(count):
            children = (self.left[node], self.right[node])
            if children == (LEAF, LEAF):
                if len(self.value[node]) != len(self.classes):
                    message = f"node {node}: {len(self.value[node])} values for {len(self.classes)} classes"
                    raise bad("nodes.value", message)
                continue
            if not all(node < child < count for child in children):  # children come after parents: no cycles
                raise bad("nodes.left", f"node {node}: children {children} out of order or range")
            if not 0 <= self.feature[node] < len(self.features):
                raise bad("nodes.feature", f"node {node}: feature {self.feature[node]} out of range")


def load_tree(path: str | Path) -> StoredTree:
    """Read a tree JSON file; a pickle (by suffix or content) is refused with :data:`PICKLE_REFUSAL`."""
    file = str(path)
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise DataError(file, None, None, PICKLE_REFUSAL)
    if not path.is_file():
        raise DataError(file, None, None, "file not found")
    data = path.read_bytes()
    if data.startswith(_PICKLE_MAGIC):
        raise DataError(file, None, None, PICKLE_REFUSAL)
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise DataError(file, None, None, "not UTF-8 text: not a JSON tree file") from None
    except json.JSONDecodeError as err:
        raise DataError(file, err.lineno, None, f"invalid JSON: {err.msg} (column {err.colno})") from None
    return StoredTree.from_dict(parsed, file)
