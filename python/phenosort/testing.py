"""Seeded synthetic images with labelled objects of known classes, for tests, docs and the demo.

Each task isolates one cue a classifier must learn:

- ``brightness``: same shape and texture, classes differ only in mean intensity (per-patch
  min-max normalisation erases this cue; per-image percentile keeps it).
- ``texture``: stripes at 0 vs 90 degrees with equal mean and variance (90-degree rotation
  augmentation destroys this cue).
- ``shape``: round vs elongated objects of equal brightness (elongated along either axis).
- ``elongation``: objects elongated along Y vs along X (orientation is the cue: 90-degree
  rotations turn one class into the other, flips do not).
- ``chirality``: mirror-image "J" and "L" shapes, upright (handedness is the cue: flips
  turn one class into the other). ``chirality_turned``: the same at random quarter-turn
  orientations, so that rotations keep the classes but flips do not.
- ``polarity_z``: 3D only (``z_planes``); bright cap at the top vs the bottom of the object
  along Z (Z flips turn one class into the other).
- ``demo``: three classes (dim round, bright round, striped) for the demo.

``texture``, ``elongation``, ``chirality`` and ``polarity_z`` are the orientation tasks of
the symmetry tests; ``brightness`` and ``shape`` are invariant under every flip and turn.

Objects sit on a jittered grid so they never overlap; IDs are deliberately non-consecutive.
:func:`make_disc_image` makes a large image (tens of thousands of discs) for benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

TASKS = (
    "brightness",
    "texture",
    "shape",
    "elongation",
    "chirality",
    "chirality_turned",
    "polarity_z",
    "demo",
)
_CLASS_NAMES = {
    "brightness": ["dim", "bright"],
    "texture": ["horizontal", "vertical"],
    "shape": ["round", "elongated"],
    "elongation": ["along_y", "along_x"],
    "chirality": ["right_handed", "left_handed"],
    "chirality_turned": ["right_handed", "left_handed"],
    "polarity_z": ["cap_top", "cap_bottom"],
    "demo": ["dim", "bright", "striped"],
}


@dataclass(frozen=True)
class SyntheticData:
    """An image, its instance mask and the true class of every object."""

    image: np.ndarray
    labels: np.ndarray
    axes: str
    classes: dict[int, int]  # label_id -> class index (1-based)
    class_names: list[str]
    voxel_size: tuple[float, ...] | None = None

    def only(self, keep: int) -> SyntheticData:
        """This image with the objects of every class but ``keep`` erased: the background
        level in their place, their labels removed (a well without positive cells)."""
        image, labels = self.image.copy(), self.labels.copy()
        c = self.axes.find("C")
        pixels = np.moveaxis(image, c, -1) if c >= 0 else image  # a view, channels last
        erased = np.isin(labels, [i for i, k in self.classes.items() if k != keep])
        pixels[erased] = np.median(pixels[labels == 0])
        labels[erased] = 0
        kept = {i: k for i, k in self.classes.items() if k == keep}
        return replace(self, image=image, labels=labels, classes=kept)


def make_objects(
    task: str = "brightness",
    *,
    grid: tuple[int, ...] = (8, 8),
    cell: int = 24,
    channels: int = 1,
    seed: int = 0,
    z_planes: int | None = None,
    voxel_size: tuple[float, ...] | None = None,
    large_ids: bool = False,
    noise: float = 0.05,
    background: float = 0.1,
) -> SyntheticData:
    """Generate a synthetic image with ``prod(grid)`` objects.

    Parameters
    ----------
    task : str
        One of :data:`TASKS`.
    grid : tuple of int
        Objects per axis (rows, cols); the image is ``grid * cell`` pixels.
    channels : int
        1 gives ``YX`` (or ``ZYX``); more gives ``YXC`` (``ZCYX`` in 3D), where the class cue
        is in channel 0 and the other channels hold the object with a class-independent level.
    z_planes : int or None
        Make a 3D stack with this many planes (objects are ellipsoids flattened by the voxel
        anisotropy, ``voxel_size = (z, y, x)``).
    large_ids : bool
        Use IDs spread up to 2^32-1 (uint32 mask) instead of IDs spread below 60000 (uint16).
    noise : float
        Multiplicative (shot-like) noise; additive camera noise is ``2 * noise * background``.
    background : float
        Background level. 0 gives a dark, noise-free background: then per-patch min-max
        normalisation maps a dim and a bright object to exactly the same patch (as long as
        neighbours stay outside the patch).
    """
    if task not in TASKS:
        raise ValueError(f"task {task!r} is not one of {TASKS}")
    if task == "polarity_z" and not z_planes:
        raise ValueError("the polarity_z task needs z_planes (a 3D stack)")
    rng = np.random.default_rng(seed)
    names = _CLASS_NAMES[task]
    n = int(np.prod(grid))
    rows, cols = grid
    height, width = rows * cell, cols * cell
    depth = z_planes or 1
    vz, vy, _ = voxel_size if (z_planes and voxel_size) else (1.0, 1.0, 1.0)
    anisotropy = vz / vy

    top = 2**32 - 1 if large_ids else 60000
    ids = np.unique(rng.integers(1, top, size=2 * n + 16))
    ids = rng.permutation(ids)[:n]  # distinct, sparse, grid position unrelated to ID order
    classes = rng.permutation(np.arange(n) % len(names)) + 1

    labels = np.zeros((depth, height, width), np.uint32 if large_ids else np.uint16)
    signal = np.zeros((depth, height, width), np.float32)
    yy, xx = np.mgrid[0:cell, 0:cell].astype(np.float32)
    zz = np.arange(depth, dtype=np.float32)[:, None, None]
    for i in range(n):
        r0, c0 = divmod(i, cols)
        cls = int(classes[i])
        radius = rng.uniform(0.28, 0.38) * cell
        cy = cell / 2 + rng.uniform(-1.5, 1.5)
        cx = cell / 2 + rng.uniform(-1.5, 1.5)
        ry, rx = radius, radius
        if task == "shape" and cls == 2:
            ry, rx = radius * 1.25, radius * 0.55
            if rng.random() < 0.5:
                ry, rx = rx, ry
        if task == "elongation":
            ry, rx = (radius * 1.3, radius * 0.55)[:: 1 if cls == 1 else -1]
        d2 = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
        level = _object_signal(task, cls, yy, xx, rng)
        if task.startswith("chirality"):
            turns = int(rng.integers(4)) if task == "chirality_turned" else 0
            d2, level = _chiral(cls, yy - cy, xx - cx, radius, turns)
        if z_planes:
            cz = (depth - 1) / 2 + rng.uniform(-0.5, 0.5)
            rz = max(radius / anisotropy, 0.75)
            d2 = d2[None] + ((zz - cz) / rz) ** 2
            if task == "polarity_z":  # a bright cap on one side along Z
                cap = (zz < cz) if cls == 1 else (zz > cz)
                level = np.where(cap, 0.8, 0.4).astype(np.float32) * np.ones_like(d2)
        inside = d2 <= 1.0
        inside = inside if z_planes else inside[None].repeat(depth, 0)
        level = level if level.ndim == 3 else level[None]
        ys, xs = slice(r0 * cell, (r0 + 1) * cell), slice(c0 * cell, (c0 + 1) * cell)
        labels[:, ys, xs][inside] = ids[i]
        signal[:, ys, xs] = np.where(inside, level, signal[:, ys, xs])

    image = np.where(labels > 0, signal, background)

    # shot-noise-like (multiplicative) noise: after per-patch min-max, a dim and a bright
    # object look alike, as in real fluorescence images
    def noisy(x):
        additive = rng.normal(0, 2 * noise * background, x.shape) if background else 0.0
        return x * (1 + rng.normal(0, 2 * noise, x.shape)) + additive

    planes = [noisy(image)]
    for c in range(1, channels):
        planes.append(noisy(np.where(labels > 0, 0.3 + 0.1 * c, background)))
    stack = np.clip(np.stack(planes), 0, None)  # (C, Z, Y, X)
    pixels = np.round(stack * 1000).astype(np.uint16)

    if z_planes:
        image_out = pixels[0] if channels == 1 else np.moveaxis(pixels, 0, 1)
        axes = "ZYX" if channels == 1 else "ZCYX"
        labels_out = labels
        vsize = tuple(voxel_size) if voxel_size else (1.0, 1.0, 1.0)
    else:
        image_out = pixels[0, 0] if channels == 1 else np.moveaxis(pixels[:, 0], 0, -1)
        axes = "YX" if channels == 1 else "YXC"
        labels_out = labels[0]
        vsize = None
    return SyntheticData(
        image=np.ascontiguousarray(image_out),
        labels=labels_out,
        axes=axes,
        classes={int(i): int(c) for i, c in zip(ids, classes)},
        class_names=list(names),
        voxel_size=vsize,
    )


def _chiral(cls: int, dy, dx, radius: float, turns: int) -> tuple[np.ndarray, np.ndarray]:
    """A "J" (class 1) or its mirror image "L" (class 2), turned by ``turns`` quarter turns:
    a stem along the object's axis and a brighter foot on one side of its lower end.
    Returns the squared normalised distance (<= 1 inside) and the intensity."""
    for _ in range(turns):  # turn the coordinates, so the shape turns the other way
        dy, dx = dx, -dy
    side = 1.0 if cls == 1 else -1.0
    stem = (dy / (radius * 1.2)) ** 2 + (dx / (radius * 0.45)) ** 2
    foot = ((dy - radius * 0.75) / (radius * 0.4)) ** 2 + (
        (dx - side * radius * 0.55) / (radius * 0.45)
    ) ** 2
    level = np.where(foot <= 1.0, 0.8, 0.5).astype(np.float32)
    return np.minimum(stem, foot), level


def _object_signal(task: str, cls: int, yy, xx, rng: np.random.Generator) -> np.ndarray:
    """Intensity inside one object (before noise) carrying the class cue of ``task``."""
    if task in ("elongation", "polarity_z"):
        return np.full(yy.shape, 0.55, np.float32)
    if task == "brightness":
        return np.full(yy.shape, 0.45 if cls == 1 else 0.65, np.float32) + rng.normal(0, 0.02)
    if task == "shape":
        return np.full(yy.shape, 0.55, np.float32)
    stripes = task == "texture" or cls == 3
    if not stripes:
        return np.full(yy.shape, 0.35 if cls == 1 else 0.75, np.float32)
    period = rng.uniform(4.5, 5.5)
    phase = rng.uniform(0, 2 * np.pi)
    along = yy if (task == "texture" and cls == 1) or task == "demo" else xx
    return (0.55 + 0.2 * np.sin(2 * np.pi * along / period + phase)).astype(np.float32)


def make_disc_image(
    size: int,
    n_objects: int,
    *,
    channels: int = 1,
    seed: int = 0,
    radius: tuple[float, float] = (5.0, 9.0),
) -> SyntheticData:
    """A ``size`` x ``size`` uint16 image of ``n_objects`` discs of the ``brightness`` task.

    Fast enough for 4096 x 4096 and 20k objects (everything is vectorised): discs sit in
    randomly chosen cells of a jittered grid whose cells are wider than the largest disc, so
    they never touch. IDs are random and non-consecutive: below 65536 (a uint16 mask) for
    up to 32767 discs, else a uint32 mask with IDs up to 4 x ``n_objects``. The
    intensity model is that of ``make_objects("brightness")`` (1 dim, 2 bright). ``channels``
    > 1 gives ``YXC`` with class-independent extra channels.
    """
    rng = np.random.default_rng(seed)
    rmax = int(np.ceil(radius[1]))
    cell = 2 * rmax + 4  # >= 2 px background between neighbours after a +-1 px jitter
    per_axis = size // cell
    if per_axis**2 < n_objects:
        raise ValueError(f"{n_objects} discs do not fit a {size} px image (at most {per_axis**2})")
    dtype = np.uint16 if n_objects <= np.iinfo(np.uint16).max // 2 else np.uint32
    top = np.iinfo(np.uint16).max if dtype == np.uint16 else 4 * n_objects
    cells = rng.choice(per_axis**2, n_objects, replace=False)
    cy = (cells // per_axis) * cell + cell // 2 + rng.integers(-1, 2, n_objects)
    cx = (cells % per_axis) * cell + cell // 2 + rng.integers(-1, 2, n_objects)
    radii = rng.uniform(*radius, n_objects)
    ids = rng.choice(np.arange(1, top + 1), n_objects, replace=False).astype(dtype)
    classes = rng.integers(1, 3, n_objects)

    off = np.arange(-rmax, rmax + 1)
    dy, dx = np.meshgrid(off, off, indexing="ij")
    inside = (dy**2 + dx**2)[None] <= (radii**2)[:, None, None]
    obj, iy, ix = np.nonzero(inside)
    yy, xx = cy[obj] + dy[iy, ix], cx[obj] + dx[iy, ix]
    labels = np.zeros((size, size), dtype)
    labels[yy, xx] = ids[obj]

    # per-object level and shot-like noise, as make_objects("brightness")
    level = np.where(classes == 1, 0.45, 0.65) + rng.normal(0, 0.02, n_objects)
    signal = np.full((size, size), 0.1, np.float32)
    signal[yy, xx] = level[obj]

    def noisy(x):
        noise = rng.standard_normal(x.shape, np.float32)
        return x * (1 + 0.1 * noise) + 0.01 * rng.standard_normal(x.shape, np.float32)

    planes = [noisy(signal)]
    for c in range(1, channels):
        planes.append(noisy(np.where(labels > 0, np.float32(0.3 + 0.1 * c), np.float32(0.1))))
    pixels = [np.round(np.clip(p, 0, None) * 1000).astype(np.uint16) for p in planes]
    return SyntheticData(
        image=pixels[0] if channels == 1 else np.stack(pixels, axis=-1),
        labels=labels,
        axes="YX" if channels == 1 else "YXC",
        classes=dict(zip(ids.astype(np.int64).tolist(), classes.tolist())),
        class_names=list(_CLASS_NAMES["brightness"]),
    )
