"""A stored preference tree as a pairwise judge, with the interface of :class:`gram_rr.RewardModelScorer`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gram_rr.analyze.attributes import AttributeTable
from gram_rr.analyze.features import MissingInput, feature_vector
from gram_rr.analyze.judgments import JudgeVerdicts
from gram_rr.analyze.rules import leaf_rules
from gram_rr.analyze.tree_model import StoredTree, load_tree
from gram_rr.data.records import PreferencePair
from gram_rr.eval.votes import majority
from gram_rr.pair_prompt import PairLike, pair_parts, question_text
from gram_rr.selection import ListwiseJudge
from gram_rr.verdict import Verdict, Vote, pooled_probability


class TreeScorer(ListwiseJudge):
    """Judges pairs with a tree: each shown order's leaf gives P(first shown better); the orders'
    log-odds are pooled as :func:`gram_rr.verdict.pooled_probability` does. ``select_many``,
    ``rank`` and ``best_of_n`` run :func:`gram_rr.selection.select_many` over :meth:`compare_many`.

    ``attributes`` and ``verdicts`` supply the columns a tree may read beyond the pair itself
    (attribute scores, a judge's probability). A tree that reads the gold winner's position
    cannot judge pairs and is refused.
    """

    def __init__(self, tree: StoredTree, attributes: AttributeTable | None = None,
                 verdicts: JudgeVerdicts | None = None, both_orders: bool = True):
        if "position" in tree.spec.groups:
            raise ValueError("this tree reads the gold winner's position (gold_first): it explains a judge, "
                             "it cannot judge pairs; fit one without the 'position' features")
        self.tree = tree
        self.attributes = attributes
        self.verdicts = verdicts
        self.both_orders = both_orders
        self.rules = leaf_rules(tree)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> "TreeScorer":
        return cls(load_tree(path), **kwargs)

    def _pair(self, pair: PairLike) -> PreferencePair:
        if isinstance(pair, PreferencePair):
            return pair
        question, response_a, response_b = pair_parts(pair)
        if set(self.tree.spec.groups) - {"length"}:
            raise ValueError(f"this tree reads {list(self.tree.spec.groups)}: pass PreferencePair objects "
                             "(with ids and metadata), not (question, A, B) tuples")
        return PreferencePair(id="", question=question_text(question), response_a=response_a, response_b=response_b)

    def _vote(self, pair: PreferencePair, swapped: bool) -> Vote:
        verdict = self.verdicts.get(pair) if self.verdicts is not None else None
        try:
            features = feature_vector(self.tree.spec, pair, swapped, verdict, self.attributes)
        except MissingInput as missing:
            raise ValueError(f"pair {pair.id!r}: {missing}, which this tree reads") from None
        leaf = self.tree.leaf(features)
        p_first = self.tree.proba_first(features)
        p_a = 1.0 - p_first if swapped else p_first
        answer = "A" if p_a > 0.5 else "B" if p_a < 0.5 else None
        return Vote(answer=answer, rationale=self.rules[leaf], swapped=swapped, probability=p_a)

    def compare_many(self, pairs: Sequence[PairLike], votes: int | None = None, both_orders: bool | None = None,
                     temperature: float | None = None) -> list[Verdict]:
        """One verdict per pair: a vote per shown order (both unless ``both_orders=False``), each
        with its leaf's rule as rationale. ``votes`` and ``temperature`` change nothing (a tree does not sample)."""
        orders = (False, True) if (self.both_orders if both_orders is None else both_orders) else (False,)
        verdicts = []
        for item in pairs:
            pair = self._pair(item)
            cast = [self._vote(pair, swapped) for swapped in orders]
            winner = majority(cast)
            share = sum(v.answer == winner for v in cast) / len(cast) if winner else 0.0
            verdicts.append(Verdict(winner=winner, confidence=share, votes=cast, probability=pooled_probability(cast)))
        return verdicts

    def predict_proba(self, pair: PairLike) -> float:
        """P(A better than B) for one pair."""
        probability = self.compare_many([pair])[0].probability
        assert probability is not None  # every vote of a tree has one
        return probability

    def close(self) -> None:
        """Nothing to release; present for interface parity."""
