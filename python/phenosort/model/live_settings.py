"""Settings of the live trainer (``live_settings_json`` of a live session)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

from ..errors import InvalidInputError


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
    refine_steps : int
        While the labels stay unchanged, training goes on in rounds (each one published as
        an update, with a learning rate that decays along a cosine) until this many steps
        were made on the same label set; then the trainer sleeps until the next change.
        The default, 960 steps of 16, sees as many patches as a full training of 40 labels
        (60 epochs of 256): a user who pauses gets the quality of a full training, and an
        idle session still uses no CPU once it is reached. 0: no refinement.
    """

    steps: int = 16
    steps_after_change: int = 6
    max_wait_s: float = 5.0
    batch_size: int = 16
    lr: float | None = None
    seed: int = 0
    refine_steps: int = 960

    def __post_init__(self) -> None:
        if (
            self.steps < 1
            or self.steps_after_change < 0
            or self.batch_size < 2
            or self.refine_steps < 0
        ):
            raise InvalidInputError(
                f"live settings need steps >= 1, steps_after_change >= 0, batch_size >= 2 and "
                f"refine_steps >= 0; got {self.steps}, {self.steps_after_change}, "
                f"{self.batch_size}, {self.refine_steps}"
            )
        if self.steps > 100_000 or self.batch_size > 4096 or self.refine_steps > 10_000_000:
            raise InvalidInputError(
                "live settings: steps <= 100000, batch_size <= 4096, refine_steps <= 10000000"
            )
        if not self.max_wait_s >= 0 or (self.lr is not None and not 0 < self.lr < 1):
            raise InvalidInputError(
                f"live settings need max_wait_s >= 0 and 0 < lr < 1; got {self.max_wait_s}, "
                f"{self.lr}"
            )

    @classmethod
    def from_json(cls, text: str) -> LiveSettings:
        """Parse ``live_settings_json``; unknown keys and wrong types fail naming the key."""
        if not text.strip():
            return cls()
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except ValueError as exc:
            raise InvalidInputError(f"live_settings_json is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInputError("live_settings_json must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InvalidInputError(
                f"unknown live setting(s) {', '.join(unknown)}; known: {', '.join(known)}"
            )
        typed: dict = {}
        for key, value in data.items():
            want = float if key in ("max_wait_s", "lr") else int
            if key == "lr" and value is None:
                typed[key] = None
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidInputError(f"live setting {key} must be a number, got {value!r}")
            if want is int and value != int(value):
                raise InvalidInputError(f"live setting {key} must be an integer, got {value}")
            typed[key] = want(value)
        return cls(**typed)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")
