"""phenosort: sort segmented objects into classes with a small CNN trained on object patches.

Importing this package loads neither torch nor grpc; the heavy parts load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["ModelConfig", "ModelStore", "ObjectClassifier", "Prediction", "Sample", "__version__"]

_LAZY = {
    "ObjectClassifier": "phenosort.classifier",
    "Sample": "phenosort.classifier",
    "ModelConfig": "phenosort.model.config",
    "ModelStore": "phenosort.store",
    "Prediction": "phenosort.results",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'phenosort' has no attribute {name!r}")
