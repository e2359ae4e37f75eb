"""``phenosort predict --server``: the images one after the other here, each predicted by a
server's model. The maps are painted here from the local mask, so only the per-object
results travel back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelNotFoundError
from .image_job import Predictor

if TYPE_CHECKING:
    from ..client import Client


def remote_predictor(client: Client, model: str) -> Predictor:
    """Predict with the server's model ``model``."""

    def predict(image, labels):
        remote = client.predict(model, image.array, labels, axes=image.axes,
                                voxel_size=image.voxel_size, class_map=False)  # fmt: skip
        return remote.to_prediction(labels)

    return predict


def server_predictor(client: Client, name: str, model_file: Path) -> tuple[list[str], Predictor]:
    """The class names and a predictor of the server's model ``name``; a model the server
    lacks is imported from ``model_file`` when that file exists."""
    try:
        info = client.get_model(name)
    except ModelNotFoundError:
        if not model_file.is_file():
            raise
        info = client.import_model(model_file, name)
    return info.class_names, remote_predictor(client, name)
