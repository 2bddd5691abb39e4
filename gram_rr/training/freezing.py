"""Full fine-tuning of the upper blocks only: the input embeddings and the lowest blocks stay fixed."""

from __future__ import annotations


def freeze_lower_layers(model, count: int) -> None:
    """Fix the input embeddings and the first ``count`` transformer blocks of ``model`` (``count`` 0: nothing).

    No parameter below block ``count`` then needs a gradient, so backward stops there: each
    step skips the backward pass of the frozen blocks. With input and output embeddings tied
    (SmolLM2, Llama 3.2) the LM head stays fixed too; a separate head or score head still trains.
    """
    if count == 0:
        return
    layers = getattr(model.base_model, "layers", None)
    if layers is None:
        raise ValueError(f"frozen_layers: {type(model).__name__} has no `layers` list of transformer blocks to freeze")
    if not 0 <= count <= len(layers):
        raise ValueError(f"frozen_layers={count}: {type(model).__name__} has {len(layers)} transformer blocks (0 to {len(layers)})")
    model.get_input_embeddings().requires_grad_(False)
    for layer in layers[:count]:
        layer.requires_grad_(False)
