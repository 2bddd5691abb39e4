"""Explain preferences (gold labels or a judge's verdicts) with shallow decision trees, stored as JSON."""

from gram_rr.analyze.attributes import AttributeTable, load_attributes, write_attributes
from gram_rr.analyze.fit import TreeConfig
from gram_rr.analyze.scorer import TreeScorer
from gram_rr.analyze.tree_model import StoredTree, load_tree

__all__ = ["AttributeTable", "StoredTree", "TreeConfig", "TreeScorer", "load_attributes", "load_tree",
           "write_attributes"]
