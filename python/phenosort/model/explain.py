"""Grad-CAM for one object's patch, through monai's implementation."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ..errors import InvalidInputError
from .device import autocast, to_device
from .inference import on_device
from .tta import View, predict_proba


def explain_patch(
    net: nn.Module,
    patch: np.ndarray,
    layer: str,
    class_index: int | None,
    *,
    inference: nn.Module,
    views: list[View],
    device: torch.device,
    dtype: torch.dtype | None,
) -> tuple[int, np.ndarray, np.ndarray]:
    """``(class index 1..K, heatmap, probabilities)`` of one patch ``(C + 1, *shape)``: the
    Grad-CAM of ``class_index`` (default: the predicted class) at ``layer``.

    Grad-CAM hooks the network and fills its gradients, so it runs on a private copy of
    ``net``: a shared model goes on serving predictions and other explanations meanwhile.
    The probabilities are predict's: its ``inference`` network (batch norm folded), views
    and autocast type.
    """
    with torch.inference_mode(), autocast(device, dtype):
        x = to_device(patch[np.newaxis], device)
        probs = predict_proba(inference, x, views)[0].cpu().numpy()
    net = on_device(copy.deepcopy(net), device).eval()
    n_classes = probs.shape[0]
    if class_index is None:
        class_index = int(probs.argmax()) + 1
    elif not 1 <= int(class_index) <= n_classes:
        raise InvalidInputError(f"class_index {class_index} is out of range 1..{n_classes}")
    return int(class_index), gradcam(net, patch, layer, int(class_index) - 1), probs


def gradcam(net: nn.Module, patch: np.ndarray, layer: str, class_index: int) -> np.ndarray:
    """Grad-CAM heatmap of ``class_index`` (0-based) for one patch ``(C + 1, *shape)``.

    Returns a float32 array of the patch's spatial shape scaled to [0, 1]. It runs in float32
    whatever the ``precision`` setting: one patch costs little.
    """
    from monai.visualize import GradCAM

    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        cam = GradCAM(nn_module=net, target_layers=layer)
        x = to_device(patch[np.newaxis], device)
        heat = cam(x=x, class_idx=int(class_index))
    finally:
        net.train(was_training)
    heat = heat.detach().cpu().numpy()[0, 0].astype(np.float32)
    return np.nan_to_num(heat)
