"""Exceptions raised by phenosort.

Every error a user can cause is an :class:`InvalidInputError` (or a subclass) whose message
names the argument, what was expected and what came, so that the CLI, the service and the
Fiji plugin can show it as it is.
"""

from __future__ import annotations


class PhenosortError(Exception):
    """Base class of all phenosort errors.

    Raised by :class:`phenosort.client.Client` from a server's status, ``code`` holds the
    gRPC status name (set only there).
    """

    code: str


class InvalidInputError(PhenosortError, ValueError):
    """An argument (image, labels, annotations, option) is not usable as given."""


class ModelFileError(PhenosortError):
    """A model file is missing, truncated, tampered with or incompatible."""


class ModelNotFoundError(PhenosortError, KeyError):
    """A model name or version is not in the store."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class Cancelled(PhenosortError):
    """A long operation stopped because its cancel event was set."""


class NotFoundError(PhenosortError, KeyError):
    """A tensor, model or job id that the server does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class AlreadyExistsError(PhenosortError):
    """Something with that name exists already."""


class PreconditionError(PhenosortError):
    """The request is valid but the current state does not allow it (e.g. untrained model)."""


class ChanceLevelWarning(UserWarning):
    """A trained model is not clearly better than chance on its hold-out (or 2-fold estimate);
    the model is kept and marked so in its file (``assessment``)."""
