"""Test-time augmentation: average the class probabilities over symmetric views of a patch.

Training augments with flips and in-plane 90-degree turns, so the network has learned to
give the same answer for each of these views; averaging its softmax over them removes the
orientation noise that is left (a few points of macro-F1 on held-out images; see
docs/benchmarks.md). Only the views that the training augmentation allowed are used, so a
model trained without rotations (orientation matters) is never asked about rotated objects.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .augment import Augmentation

View = Callable[[torch.Tensor], torch.Tensor]


def _flip(axes: tuple[int, ...]) -> View:
    return lambda x: x.flip(axes) if axes else x


def _turn(flip_axes: tuple[int, ...]) -> View:
    """A 90-degree in-plane turn, then flips (both flips make it the 270-degree turn)."""
    flip = _flip(flip_axes)
    return lambda x: flip(torch.rot90(x, 1, dims=(-2, -1)))


def tta_views(aug: Augmentation, shape: tuple[int, ...], limit: int) -> list[View]:
    """Up to ``limit`` views (the identity first) of patches of spatial ``shape``.

    Only in-plane symmetries that ``aug`` trained with are used. Order: identity, the
    in-plane flips and their product (the 180-degree turn), then the 90-degree turn and its
    flipped variants, so that 2 or 4 views are already balanced.
    """
    views: list[View] = [_flip(())]
    square = shape[-1] == shape[-2]
    flip_x, flip_y = "x" in aug.flip_axes, "y" in aug.flip_axes
    turn = aug.rot90 and square
    if flip_x:
        views.append(_flip((-1,)))
    if flip_y:
        views.append(_flip((-2,)))
    if (flip_x and flip_y) or turn:
        views.append(_flip((-2, -1)))  # the 180-degree turn
    if turn:
        views.append(_turn(()))
        if flip_x and flip_y:
            views += [_turn((-1,)), _turn((-2,))]
        views.append(_turn((-2, -1)))
    return views[: max(1, limit)]


@torch.no_grad()
def predict_proba(net: torch.nn.Module, x: torch.Tensor, views: list[View]) -> torch.Tensor:
    """Mean softmax of ``net`` over ``views`` of the batch ``x``."""
    total: torch.Tensor | None = None
    for view in views:
        probs = torch.softmax(net(view(x)).float(), dim=1)
        total = probs if total is None else total + probs
    if total is None:
        raise ValueError("predict_proba needs at least one view")
    return total / len(views)
