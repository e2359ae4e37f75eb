"""Images made ready for cutting patches: channel-first pixels, a checked label mask, its
object table, and the intensity range that normalisation measures once per image; and
training images with their annotated objects (:class:`Annotated`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..axes import check_labels, check_voxel_size, to_channel_first
from ..checksums import checksum_of
from ..errors import InvalidInputError
from .normalize import Normalization
from .patches import PatchSpec, extract_patches
from .table import LabelIndex, ObjectTable, index_and_table


@dataclass
class PreparedImage:
    """One image with its objects; ``image_range`` is what the normalisation measured on it
    (:meth:`Normalization.measured_range`)."""

    image_cf: np.ndarray
    labels: np.ndarray
    index: LabelIndex
    table: ObjectTable
    voxel_size: tuple[float, ...]
    image_range: tuple[np.ndarray, np.ndarray] | None
    name: str = ""
    _checksum: str | None = field(default=None, repr=False)
    _objects_checksum: str | None = field(default=None, repr=False)

    @property
    def checksum(self) -> str:
        """Of pixels and mask (computed when first asked: it reads the whole image)."""
        if self._checksum is None:
            self._checksum = checksum_of(self.image_cf, self.labels)
        return self._checksum

    @property
    def objects_checksum(self) -> str:
        """Of the objects' IDs and voxel counts: equal for the same mask, cheap to compute
        (from the table, when first asked), and different for almost any other mask of the
        same shape."""
        if self._objects_checksum is None:
            ids, sizes = np.asarray(self.table.label_id, np.int64), self.table.size
            self._objects_checksum = checksum_of(ids, np.asarray(sizes, np.int64))
        return self._objects_checksum

    @property
    def ndim(self) -> int:
        return self.labels.ndim

    @property
    def n_channels(self) -> int:
        return self.image_cf.shape[0]

    def patches(self, table: ObjectTable, spec: PatchSpec, norm: Normalization) -> np.ndarray:
        """The patches of the objects of ``table`` (rows of :attr:`table`)."""
        image_range = norm.range_for(self.image_cf, self.image_range)
        return extract_patches(
            self.image_cf, self.labels, table, spec, norm, image_range, self.voxel_size
        )

    def check_fits(self, ndim: int | None, in_channels: int | None) -> None:
        """Raise unless a model of ``ndim`` spatial axes and ``in_channels`` image channels
        can take this image."""
        if self.ndim != ndim:
            raise InvalidInputError(
                f"the model was trained on {ndim}D images, this image is {self.ndim}D"
            )
        if self.n_channels != in_channels:
            raise InvalidInputError(
                f"the model expects {in_channels} image channel(s), this image has "
                f"{self.n_channels}"
            )


@dataclass(frozen=True)
class Annotated:
    """Prepared images, and per image the table rows and classes (1..K) of its annotated
    objects (user labels in label-ID order, or pseudo-labels)."""

    preps: list[PreparedImage]
    rows: list[np.ndarray]
    classes: list[np.ndarray]

    @property
    def ndim(self) -> int:
        return self.preps[0].ndim

    @property
    def n_channels(self) -> int:
        return self.preps[0].n_channels

    @property
    def targets(self) -> np.ndarray:
        """All annotated objects' classes, 0-based, image after image."""
        return np.concatenate(self.classes) - 1

    def patches(self, spec: PatchSpec, norm: Normalization) -> np.ndarray:
        """The annotated objects' patches, in the order of :attr:`targets`."""
        pairs = zip(self.preps, self.rows)
        return np.concatenate(
            [p.patches(p.table.subset(r), spec, norm) for p, r in pairs if r.size]
        )


def prepare_image(
    image: np.ndarray,
    labels: np.ndarray,
    axes: str,
    voxel_size: tuple[float, ...] | None,
    norm: Normalization,
    name: str = "",
) -> PreparedImage:
    """Check ``image`` (with its ``axes``) and its label mask, index the objects, and measure
    what ``norm`` needs of the image."""
    image_cf = to_channel_first(image, axes)
    labels = check_labels(labels, image_cf.shape[1:])
    if labels.ndim not in (2, 3):
        raise InvalidInputError(f"images must be 2D or 3D, got {labels.ndim} spatial axes")
    index, table = index_and_table(labels)
    vs = check_voxel_size(voxel_size, labels.ndim)
    image_range = norm.measured_range(image_cf)
    return PreparedImage(image_cf, labels, index, table, vs, image_range, name)
