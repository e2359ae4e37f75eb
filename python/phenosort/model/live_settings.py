"""Settings of the live trainer (``live_settings_json`` of a live session)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidInputError
from .field_types import json_object, typed_values


@dataclass(frozen=True)
class LiveSettings:
    """Settings of the live trainer (not of the model: a committed model does not keep them).

    Attributes
    ----------
    steps : int
        Training steps per update.
    steps_after_change : int
        Steps on the newest label set before predicting, when labels changed during an
        update's training (the update continues instead of starting over).
    max_wait_s : float
        A prediction is cancelled when a newer label change arrives, unless the last
        published update is older than this: a user who never pauses still sees updates.
    batch_size : int
        Labelled patches per step (drawn with replacement).
    lr : float or None
        AdamW learning rate; None: 1e-3 when starting from trained weights, 3e-3 otherwise.
    seed : int
        Seed of the batches and augmentation.
    settle : bool
        Once the labels have not changed for ``settle_after_s``, train a new classifier on
        them as a full training does (:mod:`.live_settle`) and let the live model adopt
        it; a change cancels that training. The update it makes says ``settled``; then the
        trainer sleeps until the next change.
    settle_after_s : float
        Seconds without a label change before the full training starts (a click every
        second or two never starts one only to cancel it).
    """

    steps: int = 16
    steps_after_change: int = 6
    max_wait_s: float = 5.0
    batch_size: int = 16
    lr: float | None = None
    seed: int = 0
    settle: bool = True
    settle_after_s: float = 3.0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.steps_after_change < 0 or self.batch_size < 2:
            raise InvalidInputError(
                f"live settings need steps >= 1, steps_after_change >= 0 and batch_size >= 2; "
                f"got {self.steps}, {self.steps_after_change}, {self.batch_size}"
            )
        if self.steps > 100_000 or self.batch_size > 4096:
            raise InvalidInputError("live settings: steps <= 100000 and batch_size <= 4096")
        if not self.max_wait_s >= 0 or (self.lr is not None and not 0 < self.lr < 1):
            raise InvalidInputError(
                f"live settings need max_wait_s >= 0 and 0 < lr < 1; got {self.max_wait_s}, "
                f"{self.lr}"
            )
        if not 0 <= self.settle_after_s <= 86_400:
            raise InvalidInputError(
                f"live setting settle_after_s must be in 0..86400, got {self.settle_after_s}"
            )

    @classmethod
    def from_json(cls, text: str) -> LiveSettings:
        """Parse ``live_settings_json``; unknown keys and wrong types fail naming the key."""
        data = json_object(text, "live_settings_json")
        return cls(**typed_values(cls, data, "live settings"))
