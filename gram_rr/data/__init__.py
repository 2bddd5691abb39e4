"""Preference data: the ``PreferencePair`` record, format readers, atomic writers, demo tasks."""

from gram_rr.data.benchmark_files import RMBENCH_STYLES, expand_rmbench
from gram_rr.data.errors import DataError, LoadStats
from gram_rr.data.io import write_pairs
from gram_rr.data.readers import FORMATS, PairList, detect_format, iter_pairs, load_pairs
from gram_rr.data.records import PreferencePair, render_conversation

__all__ = [
    "FORMATS",
    "RMBENCH_STYLES",
    "DataError",
    "LoadStats",
    "PairList",
    "PreferencePair",
    "detect_format",
    "expand_rmbench",
    "iter_pairs",
    "load_pairs",
    "render_conversation",
    "write_pairs",
]
