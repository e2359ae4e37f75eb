"""The phenosort gRPC service from Python, numpy in and out: :class:`Client` mirrors
:class:`phenosort.classifier.ObjectClassifier` for a model held by a server (``phenosort
serve``), and :class:`LiveSession` is a live classification session on it.

Images are uploaded once, in chunks, under a content id computed here exactly as the server
computes it; later requests on the same image send only that id. Server errors become
:mod:`phenosort.errors` exceptions carrying the server's message.

Modules: :mod:`.client` (the calls), :mod:`.connection` (channel, uploads, errors),
:mod:`.messages` (what replies become), :mod:`.live` (live sessions).
"""

from ..remote_training import FitResult
from .client import Client
from .connection import RemoteError
from .live import LiveImageResult, LiveSession, LiveUpdate
from .messages import ModelInfo, ProbeProgress, RemotePrediction, Suggestion, TrainingProgress

__all__ = [
    "Client",
    "FitResult",
    "LiveImageResult",
    "LiveSession",
    "LiveUpdate",
    "ModelInfo",
    "ProbeProgress",
    "RemoteError",
    "RemotePrediction",
    "Suggestion",
    "TrainingProgress",
]
