"""The training gallery: per labelled class, its objects with the model's prediction, least
sure first, so that wrong and unsure labels lead."""

from __future__ import annotations

from collections.abc import Sequence

from ..montage import display_range
from .drawing import Loader, Source, draw
from .montages import Gallery, Montage, Tile, montage_file

UNSURE = 0.75  # a right prediction below this probability of the labelled class is "unsure"


def labelled_tiles(clf, sample, *, name: str = "") -> list[Tile]:
    """A tile per annotated object of ``sample`` (a :class:`~phenosort.classifier.Sample`)
    with the model's prediction, its labelled class and a mark: ``wrong`` (predicted as
    another class) or ``unsure`` (right, with probability of the labelled class < 0.75).
    ``confidence`` is the probability of the predicted class, ``margin`` the one of the
    labelled class."""
    ids = sorted(int(k) for k in sample.annotations)
    truth = {
        int(k): clf.resolve_class(v, sample.name, int(k)) for k, v in sample.annotations.items()
    }
    pred = clf.predict(
        sample.image, sample.labels, axes=sample.axes, voxel_size=sample.voxel_size, label_ids=ids
    )
    tiles = []
    for label_id, probs in zip(pred.label_id, pred.probabilities):
        k, true = int(probs.argmax()) + 1, truth[int(label_id)]
        p_true = float(probs[true - 1])
        mark = "wrong" if k != true else ("unsure" if p_true < UNSURE else "")
        tiles.append(
            Tile(
                name or sample.name, int(label_id), k, clf.class_names[k - 1],
                float(probs.max()), p_true, true, clf.class_names[true - 1], mark,
            )
        )  # fmt: skip
    return tiles


def training_gallery(
    clf, samples: Sequence, *, per_class: int = 32, tile_size: int = 96, columns: int = 8
) -> Gallery:
    """Per labelled class, its objects with the least sure first (lowest probability of the
    labelled class, so the wrong ones lead), ``per_class`` of them."""
    from ..classes import class_colors

    names = [s.name or f"sample {i + 1}" for i, s in enumerate(samples)]
    tiles = [t for s, n in zip(samples, names) for t in labelled_tiles(clf, s, name=n)]
    montages = []
    for k, class_name in enumerate(clf.class_names, start=1):
        members = sorted(
            (t for t in tiles if t.true_class == k), key=lambda t: (t.margin, t.image, t.label_id)
        )
        chosen = members[:per_class]
        wrong = sum(t.mark == "wrong" for t in members)
        title = (
            f"labelled {class_name}: {len(chosen)} of {len(members)}, least sure first "
            f"({wrong} predicted as another class)"
        )
        file_name = montage_file(k, class_name, "labelled-")
        montages.append(Montage(class_name, title, chosen, file_name))
    sources = [
        Source(n, None, _loader(s), display_range(s.image, s.axes)) for s, n in zip(samples, names)
    ]
    return draw(
        montages, sources, class_colors(len(clf.class_names)), tile_size=tile_size, columns=columns
    )


def _loader(sample) -> Loader:
    return lambda: (sample.image, sample.labels, sample.axes)
