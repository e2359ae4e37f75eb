"""Progress bars (tqdm, on stderr) of the CLI and the demo: a training's epochs, here or on
a server. ``quiet`` hides them and nothing else."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


def bar(quiet: bool, **kwargs: Any) -> tqdm:
    return tqdm(disable=quiet, dynamic_ncols=True, **kwargs)


def epoch_postfix(event: Any) -> dict[str, str]:
    """Bar fields of a local ``EpochEvent`` or a server's ``TrainingProgress``."""
    info = {"loss": f"{event.train_loss:.3f}"}
    if event.val_accuracy is not None:
        info["val_acc"] = f"{event.val_accuracy:.3f}"
        info["val_f1"] = f"{event.val_macro_f1:.3f}"
    return info


class EpochBar:
    """The epochs of one training. With ``total`` (in-process) it opens at once; without
    (on a server) at the first event, so lines printed while the images upload stay above.
    Use as a context manager; pass :meth:`local` or :meth:`remote` as ``progress`` (and
    :meth:`probe` as ``probe_progress`` in-process).

    Before the first epoch, while the symmetry probes run, the bar names the probe run and
    its epoch ("symmetry probe 1/2", "epoch 3/10") and then goes back to "train"."""

    def __init__(self, quiet: bool, total: int | None = None) -> None:
        self._quiet, self._total = quiet, total
        self._bar: tqdm | None = None
        self._probing = False

    def _open(self) -> tqdm:
        if self._bar is None:
            self._bar = bar(self._quiet, total=self._total, unit="epoch", desc="train")
        return self._bar

    def local(self, event: Any) -> None:
        """An in-process ``EpochEvent``: one epoch each (a pseudo-label round adds some)."""
        b = self._open()
        b.total = event.n_epochs
        self._train(b)
        b.set_postfix(epoch_postfix(event))
        b.update(1)

    def remote(self, event: Any) -> None:
        """A ``TrainingProgress``: the job's first events and final state carry no epoch;
        the probes' carry ``probe``."""
        b = self._open()
        b.total = event.n_epochs
        if event.probe is not None:
            self.probe(event.probe)
        elif event.epoch > b.n:
            self._train(b)
            b.set_postfix(epoch_postfix(event), refresh=False)
            b.update(event.epoch - b.n)

    def probe(self, probe: Any) -> None:
        """An epoch of a symmetry probe run: an in-process ``ProbeEpoch``, or a server's
        ``TrainingProgress.probe``."""
        b = self._open()
        self._probing = True
        b.set_description(f"symmetry probe {probe.run}/{probe.n_runs}", refresh=False)
        b.set_postfix({"epoch": f"{probe.epoch}/{probe.n_epochs}"})

    def _train(self, b: tqdm) -> None:
        if self._probing:
            self._probing = False
            b.set_description("train", refresh=False)

    def __enter__(self) -> EpochBar:
        if self._total is not None:
            self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
