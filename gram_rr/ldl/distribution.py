"""Label distributions over a rating scale: a rating as a discrete Gaussian, the LDL loss, the expectation.

Label Distribution Learning (seed 000) describes a rating r not by the point r but by a
distribution over the scale's values v_1..v_n: p_i proportional to exp(-(v_i - r)^2 / (2 sigma^2)),
so a 3.5 also says something about 3 and 4.
"""

from __future__ import annotations

import torch


def scale_values(low: float, high: float, bins: int) -> torch.Tensor:
    """The ``bins`` evenly spaced values of the rating scale ``[low, high]`` (both ends included)."""
    if bins < 2 or not high > low:
        raise ValueError(f"a rating scale needs bins >= 2 and high > low, got bins={bins}, [{low}, {high}]")
    return torch.linspace(low, high, bins, dtype=torch.float64).float()


def discrete_gaussian(ratings: torch.Tensor, values: torch.Tensor, sigma: float) -> torch.Tensor:
    """``ratings`` (any shape) -> distributions over ``values`` (shape + (bins,)), each summing to 1.

    The mode is the scale value nearest the rating; a rating at a value that lies as far from
    both ends of the scale is symmetric about it. ``sigma`` is in rating units.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    logits = -((values - ratings.unsqueeze(-1).to(values.dtype)) ** 2) / (2.0 * sigma**2)
    return torch.softmax(logits, dim=-1)


def expectation(distribution: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """The mean rating of distributions over ``values`` (the last dimension)."""
    return (distribution * values.to(distribution.dtype)).sum(dim=-1)


def kl_loss(log_predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean KL(target || predicted) over the distributions (last dimension); ``log_predicted`` are log-probabilities."""
    terms = torch.where(target > 0, target * (target.clamp_min(1e-12).log() - log_predicted), 0.0)
    return terms.sum(dim=-1).mean()
