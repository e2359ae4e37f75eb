"""The live model's last layer, fitted alone on pooled features (light networks).

After an update's training steps, :func:`refit_head` refits the network's last layer to the
labels on their eval-mode features: training steps see batch statistics, prediction sees the
running ones, and with a few labels the head trained on the first fits the second poorly.
:func:`quick_predict` fits a copy of that layer on the features kept from the last
prediction and predicts every watched object with it (milliseconds, not seconds): the quick
update a session shows before it trains. :func:`margins` sums up either prediction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..results import margin_of

if TYPE_CHECKING:
    import torch

    from ..classifier import ObjectClassifier
    from .live_update import _Image


def head_of(clf: ObjectClassifier) -> Any:
    """The light network's last layer (an ``nn.Linear``)."""
    net: Any = clf.net
    return net.head


def refit_head(clf: ObjectClassifier, x: torch.Tensor, y: torch.Tensor, iterations: int) -> None:
    """Refit the network's last layer to targets ``y`` on the eval-mode features of the
    training patches ``x`` (centre-cropped to the patch shape first)."""
    import torch

    from .augment import center_crop

    assert clf.patch_spec is not None
    patches = center_crop(x, clf.patch_spec.shape).contiguous().numpy()
    features = np.zeros((patches.shape[0], head_of(clf).in_features), np.float32)
    clf._batched_inference().of_patches(patches, features=features)
    fitted = fit_head(clf, torch.from_numpy(features), y, iterations)
    # into the network and into its inference copy, which then stays valid
    heads = [head_of(clf)] + ([clf._inference[2].head] if clf._inference else [])
    with torch.no_grad():
        for head in heads:
            head.weight.copy_(fitted.weight.to(head.weight.device))
            head.bias.copy_(fitted.bias.to(head.bias.device))


def fit_head(clf: ObjectClassifier, x, y, iterations: int):
    """A copy of the network's last layer fitted to features ``x`` and targets ``y``."""
    import torch
    from torch import nn

    from .train import class_weights

    head = head_of(clf)
    k = len(clf.class_names)
    fitted = nn.Linear(head.in_features, k)
    with torch.no_grad():
        fitted.weight.copy_(head.weight.detach().float().cpu())
        fitted.bias.copy_(head.bias.detach().float().cpu())
    weights = class_weights(y.numpy(), k, clf.config.train_class_weighting)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    optimizer = torch.optim.Adam(fitted.parameters(), lr=0.01)
    with torch.enable_grad():
        for _ in range(iterations):
            optimizer.zero_grad()
            loss_fn(fitted(x), y).backward()
            optimizer.step()
    return fitted


def quick_predict(
    clf: ObjectClassifier,
    images: Mapping[str, _Image],
    labels: Mapping[str, Mapping[int, int]],
    iterations: int,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The last layer alone refitted to ``labels`` on the features kept in ``images`` (the
    network's own head is left as it is), and every watched object's probabilities with it:
    ``{image key: (label IDs, (N, K) probabilities)}``."""
    import torch

    head = head_of(clf)
    feats, targets = [], []
    for key in sorted(labels):
        entry = images[key]
        ids = sorted(labels[key])
        rows = entry.prep.table.rows(ids)
        if entry.features is not None and entry.watch:
            feats.append(entry.features[rows])
        else:  # an unwatched image: its few labelled objects through the network
            width = head.in_features
            out = np.zeros((len(ids), width), np.float32)
            patches = clf._patches(entry.prep, entry.prep.table.subset(rows))
            clf._batched_inference().of_patches(patches, features=out)
            feats.append(out)
        targets += [labels[key][i] - 1 for i in ids]
    x = torch.from_numpy(np.concatenate(feats))
    quick = fit_head(clf, x, torch.tensor(targets, dtype=torch.int64), iterations)
    out_probs = {}
    with torch.inference_mode():
        for key, entry in images.items():
            if entry.watch and entry.features is not None:
                logits = quick(torch.from_numpy(entry.features))
                probs = torch.softmax(logits, dim=1).numpy()
                out_probs[key] = (entry.prep.table.label_id, probs)
    return out_probs


def margins(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(class index 1..K, confidence, margin)`` per row of ``(N, K)`` probabilities."""
    if probabilities.shape[0] == 0:
        empty = np.zeros(0, np.float32)
        return np.zeros(0, np.int64), empty, empty
    return probabilities.argmax(1) + 1, probabilities.max(1), margin_of(probabilities)
