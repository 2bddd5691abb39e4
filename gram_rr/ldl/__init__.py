"""LDL reward models (seed 000): per-attribute label distributions, gated into one; the score is its expectation."""

from gram_rr.ldl.config import LDLAttributeConfig, LDLGatingConfig, load_ldl_configs
from gram_rr.ldl.distribution import discrete_gaussian, expectation, kl_loss, scale_values
from gram_rr.ldl.model import LDLOutput, LDLRewardModel, LDLSpec, is_ldl_folder

__all__ = [
    "LDLAttributeConfig",
    "LDLGatingConfig",
    "LDLOutput",
    "LDLRewardModel",
    "LDLSpec",
    "discrete_gaussian",
    "expectation",
    "is_ldl_folder",
    "kl_loss",
    "load_ldl_configs",
    "scale_values",
]
