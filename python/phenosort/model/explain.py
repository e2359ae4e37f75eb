"""Grad-CAM for one object's patch, through monai's implementation."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def gradcam(net: nn.Module, patch: np.ndarray, layer: str, class_index: int) -> np.ndarray:
    """Grad-CAM heatmap of ``class_index`` (0-based) for one patch ``(C + 1, *shape)``.

    Returns a float32 array of the patch's spatial shape scaled to [0, 1].
    """
    from monai.visualize import GradCAM

    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        cam = GradCAM(nn_module=net, target_layers=layer)
        x = torch.from_numpy(patch[np.newaxis]).to(device)
        heat = cam(x=x, class_idx=int(class_index))
    finally:
        net.train(was_training)
    heat = heat.detach().cpu().numpy()[0, 0].astype(np.float32)
    return np.nan_to_num(heat)
