"""Grad-CAM for one object's patch, through monai's implementation."""

from __future__ import annotations

import numpy as np
from torch import nn

from .device import to_device


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
