"""Network factories: the light patch CNN of the Svetlana paper and monai's 2D/3D backbones.

Every network returns logits (softmax only at inference; the reference applied it twice).
:func:`build_network` checks with a dummy forward pass that the patch fits the network, so
a bad combination fails with a clear message before any training starts.
:func:`inference_network` makes the copy that prediction runs: every batch norm folded
away (exactly) and a channels-last layout, 1.3-1.5x the throughput of the trained module
on a CPU at the same arithmetic (docs/benchmarks.md, issue 15).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..errors import InvalidInputError
from .config import NET_BLOCKS as BLOCKS
from .config import ModelConfig, dropout_rate


class LightCNN(nn.Module):
    """Blocks of convolution, batch norm, ReLU and max-pooling with doubling width, then
    average pooling and a linear head.

    ``block`` orders each block's layers: ``conv-relu-bn`` (Conv-ReLU-BN-MaxPool, the
    Svetlana paper's order and the ``net_block`` setting's default) or ``conv-bn-relu``
    (Conv-BN-ReLU-MaxPool, the fast preset's); prediction folds the batch norms of either
    away (:func:`inference_network`). Layer 2 of every block is its last activation map
    (Grad-CAM's).

    Pooling halves only axes that are still >= 2 voxels, so a 3D patch with few Z planes
    (anisotropic stacks) is pooled in-plane only once Z is exhausted.
    """

    def __init__(
        self,
        ndim: int,
        in_channels: int,
        n_classes: int,
        patch_shape: tuple[int, ...],
        width: int = 32,
        depth: int = 3,
        block: str = "conv-bn-relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise InvalidInputError(f"net_block {block!r} is not one of {', '.join(BLOCKS)}")
        conv = nn.Conv2d if ndim == 2 else nn.Conv3d
        norm = nn.BatchNorm2d if ndim == 2 else nn.BatchNorm3d
        pool = nn.MaxPool2d if ndim == 2 else nn.MaxPool3d
        size = list(patch_shape)
        blocks, channels = [], in_channels
        for i in range(depth):
            out = width * 2**i
            kernel = tuple(2 if s >= 2 else 1 for s in size)
            if block == "conv-bn-relu":  # the convolution's bias would only shift the norm
                layers = [conv(channels, out, 3, padding=1, bias=False), norm(out), nn.ReLU()]
            else:
                layers = [conv(channels, out, 3, padding=1), nn.ReLU(inplace=True), norm(out)]
            blocks.append(nn.Sequential(*layers, pool(kernel)))
            size = [s // k for s, k in zip(size, kernel)]
            channels = out
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1) if ndim == 2 else nn.AdaptiveAvgPool3d(1)
        self.head = nn.Linear(channels, n_classes)
        # on the pooled features while training (no weights: model files are unchanged)
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features that the head classifies: ``forward(x) == head(embed(x))``."""
        return torch.flatten(self.pool(self.features(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(x)))


def set_dropout(net: nn.Module, rate: float) -> None:
    """Give a light network dropout ``rate`` on its pooled features (0: none), in place; a
    model whose training continues gets this training's rate. Other networks have none."""
    if isinstance(net, LightCNN):
        net.dropout = nn.Dropout(rate) if rate > 0 else nn.Identity()


def gradcam_layer(net_name: str, depth: int) -> str:
    """Name of the layer whose activations Grad-CAM uses (the last feature map)."""
    if net_name == "light":
        return f"features.{depth - 1}.2"
    if net_name.startswith("resnet"):
        return "layer4"
    return "features.norm5"


def build_network(
    name: str,
    ndim: int,
    in_channels: int,
    n_classes: int,
    patch_shape: tuple[int, ...],
    *,
    width: int = 32,
    depth: int = 3,
    block: str = "conv-bn-relu",
    dropout: float = 0.0,
) -> nn.Module:
    """Build a network and check that a patch of ``patch_shape`` goes through it."""
    if ndim not in (2, 3) or len(patch_shape) != ndim:
        raise InvalidInputError(f"patch shape {patch_shape} does not match {ndim}D data")
    if n_classes < 2:
        raise InvalidInputError(f"a classifier needs at least 2 classes, got {n_classes}")
    if name == "light":
        smallest = min(patch_shape[-2:])
        if smallest < 2**depth:
            raise InvalidInputError(
                f"patch {patch_shape} is too small for net_depth={depth}: each block halves "
                f"the size, so the in-plane size must be >= {2**depth} (use a larger "
                f"patch_size or a smaller net_depth)"
            )
        net: nn.Module = LightCNN(
            ndim, in_channels, n_classes, patch_shape, width, depth, block, dropout
        )
    else:
        net = _monai_network(name, ndim, in_channels, n_classes)
    _check_forward(net, name, in_channels, patch_shape)
    return net


def network_for(
    config: ModelConfig, ndim: int, n_channels: int, n_classes: int, patch_shape: tuple[int, ...]
) -> nn.Module:
    """The network that ``config`` describes, for images of ``n_channels`` channels (its
    input has one more: the object mask), with default initial weights. An ``auto``
    dropout that no training resolved (a loaded model, the live preview) is none, as with
    a hold-out."""
    dropout = dropout_rate(config.net_dropout, hold_out=True)
    return build_network(
        config.net_name, ndim, n_channels + 1, n_classes, patch_shape,
        width=config.net_width, depth=config.net_depth, block=config.net_block,
        dropout=dropout,
    )  # fmt: skip


def initial_network(
    config: ModelConfig, ndim: int, n_channels: int, n_classes: int, patch_shape: tuple[int, ...]
) -> nn.Module:
    """A new model's network before training: initialised from ``train_seed`` (the initial
    weights are part of the seed), then from ``net_weights`` where set."""
    torch.manual_seed(config.train_seed)
    net = network_for(config, ndim, n_channels, n_classes, patch_shape)
    if config.net_weights:
        load_initial_weights(net, config.net_weights)
    return net


def inference_network(net: nn.Module) -> nn.Module:
    """The copy of a trained ``net`` that prediction runs (``net`` itself is left as it is).

    For the light network every batch norm goes (exact, in eval mode): in ``conv-bn-relu``
    order into the convolution before it, in ``conv-relu-bn`` order into the layers on
    either side (:func:`_fold_after_relu`). Pooling moves before the ReLU (the two commute;
    a quarter of the ReLU work), and 2-voxel max pooling becomes :class:`_PairMax` (the same
    values, less CPU time). Every network then takes the channels-last layout, in
    which oneDNN's CPU convolutions run fastest; on a GPU it suits tensor cores too.
    """
    fast = copy.deepcopy(net).eval()
    if isinstance(fast, LightCNN) and all(_foldable(b) for b in fast.features):
        fast.features = nn.Sequential(*(_folded(b) for b in fast.features))
    elif isinstance(fast, LightCNN):
        _fold_after_relu(fast)
    _pool_by_pairs(fast)
    layout = fast_layout(fast)
    return fast if layout is None else with_layout(fast, layout)


def fast_layout(net: nn.Module) -> torch.memory_format | None:
    """The memory layout oneDNN's convolutions run fastest in for ``net``: channels-last for
    2D and 3D convolution networks, None for anything else."""
    first = next(net.parameters(), None)
    if first is None or first.dim() not in (4, 5):
        return None
    return torch.channels_last if first.dim() == 4 else torch.channels_last_3d


def with_layout(net: nn.Module, layout: torch.memory_format) -> nn.Module:
    """``net`` with its weights in ``layout``, in place (the values do not change)."""
    # torch's type stub of Module.to lacks the memory_format keyword
    return net.to(memory_format=layout)  # type: ignore[call-overload]


@contextlib.contextmanager
def training_layout(net: nn.Module) -> Iterator[torch.memory_format | None]:
    """Train a 2D ``net`` channels-last (the same arithmetic in another order: 1.05-1.7x
    faster training, macro-F1 within seed noise over 10 seeds; 3D was not measured and
    stays as it is); yields the layout batches should take (None: as they are). The
    weights go back to the usual layout at the end, also on an error or a cancel. The
    parameters stay the same objects, so an optimizer made before or during keeps them."""
    layout = fast_layout(net)
    layout = layout if layout == torch.channels_last else None
    if layout is not None:
        with_layout(net, layout)
    try:
        yield layout
    finally:
        if layout is not None:
            with_layout(net, torch.contiguous_format)


def _foldable(block: nn.Module) -> bool:
    """A Conv-BN-ReLU-Pool block (``conv-bn-relu``), whose batch norm folds exactly."""
    layers = list(block.children())
    return (
        len(layers) == 4
        and isinstance(layers[0], nn.modules.conv._ConvNd)
        and isinstance(layers[1], nn.modules.batchnorm._BatchNorm)
    )


def _folded(block: nn.Module) -> nn.Sequential:
    """The block as Conv(+BN folded)-Pool-ReLU: pooling before the ReLU gives the same
    result (both are monotone) on a quarter of the values."""
    conv, norm, _, pool = block.children()
    assert isinstance(conv, nn.modules.conv._ConvNd)
    assert isinstance(norm, nn.modules.batchnorm._BatchNorm)
    return nn.Sequential(fuse_conv_bn_eval(conv, norm), pool, nn.ReLU())


class _PairMax(nn.Module):
    """Max pooling with kernel = stride of 1 or 2 per axis, no padding, as the maximum of
    the even and odd slices along each pooled axis: equal values (max is exact, NaN
    included), in the input's layout. Alone 3-4x faster than torch's CPU max pooling in
    channels-last; a whole prediction took 0.91-0.95x the CPU time (docs/benchmarks.md,
    issue 15). Only for inference: at a tie the gradient of ``maximum`` is shared, max
    pooling's is not."""

    def __init__(self, kernel: tuple[int, ...]) -> None:
        super().__init__()
        self.axes = [2 + i for i, k in enumerate(kernel) if k == 2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for axis in self.axes:
            pairs = x.shape[axis] // 2  # an odd last voxel is dropped, as max pooling does
            every_other = (slice(None),) * axis + (slice(None, None, 2),)
            x = torch.maximum(
                x.narrow(axis, 0, 2 * pairs - 1)[every_other],
                x.narrow(axis, 1, 2 * pairs - 1)[every_other],
            )
        return x


def _pair_kernel(pool: nn.Module) -> tuple[int, ...] | None:
    """The kernel of a max pooling that :class:`_PairMax` computes exactly, else None."""
    if not isinstance(pool, (nn.MaxPool2d, nn.MaxPool3d)) or pool.ceil_mode:
        return None
    ndim = 2 if isinstance(pool, nn.MaxPool2d) else 3

    def per_axis(value) -> tuple[int, ...]:
        return tuple(value) if isinstance(value, (tuple, list)) else (value,) * ndim

    kernel, stride = per_axis(pool.kernel_size), per_axis(pool.stride)
    padding, dilation = per_axis(pool.padding), per_axis(pool.dilation)
    exact = kernel == stride and set(padding) == {0} and set(dilation) == {1}
    return kernel if exact and set(kernel) <= {1, 2} else None


def _pool_by_pairs(net: nn.Module) -> None:
    """Replace, in place, every max pooling of ``net`` that :class:`_PairMax` computes."""
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            kernel = _pair_kernel(child)
            if kernel is not None:
                setattr(module, name, _PairMax(kernel))


class _FloorAt(nn.Module):
    """``max(x, floor)`` per channel: a ReLU whose threshold moved with a folded shift."""

    floor: torch.Tensor

    def __init__(self, floor: torch.Tensor, ndim: int) -> None:
        super().__init__()
        self.register_buffer("floor", floor.reshape(1, -1, *([1] * ndim)).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.maximum(x, self.floor)


class _Scale(nn.Module):
    """``x * scale`` per channel."""

    scale: torch.Tensor

    def __init__(self, scale: torch.Tensor, ndim: int) -> None:
        super().__init__()
        self.register_buffer("scale", scale.reshape(1, -1, *([1] * ndim)).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def _fold_after_relu(net: LightCNN) -> None:
    """Fold the batch norms of Conv-ReLU-BN-Pool blocks away, in place (exact, eval mode).

    A block's output is ``a * pool(relu(z)) + b`` per channel (``a``, ``b`` the norm's scale
    and shift). With ``c = b / a`` that is ``a * max(pool(z + c), c)`` when ``a > 0`` (max
    pooling commutes with a positive scale and with the floor): ``c`` goes into the
    convolution's bias, the floor replaces the ReLU (on the pooled, quarter-size map), and
    ``a`` into the next convolution's weights; scaling a convolution's input scales its zero
    padding by the same factor, so borders stay exact too. The last block keeps its scale
    (on its small pooled map), so that ``embed`` gives the trained network's features, which
    the live model fits heads on. A norm with a scale <= 0 cannot move through max pooling:
    the network is then left as it is.
    """
    blocks = []
    for block in net.features:
        layers = list(block.children())
        if len(layers) != 4:
            return
        conv, _, norm, pool = layers
        if not isinstance(conv, nn.modules.conv._ConvNd) or conv.bias is None:
            return
        if not isinstance(norm, nn.modules.batchnorm._BatchNorm):
            return
        blocks.append((conv, conv.bias, _affine_of(norm), pool))
    if not all(bool((a > 0).all()) for _, _, (a, _), _ in blocks):
        return
    folded: list[nn.Module] = []
    previous: torch.Tensor | None = None
    with torch.no_grad():
        for i, (conv, bias, (a, shift), pool) in enumerate(blocks):
            ndim = conv.weight.dim() - 2
            floor = shift / a
            if previous is not None:  # the previous block's scale, on this one's input
                conv.weight.mul_(previous.reshape(1, -1, *([1] * ndim)))
            bias.add_(floor)
            layers = [conv, pool, _FloorAt(floor, ndim)]
            if i == len(blocks) - 1:
                layers.append(_Scale(a, ndim))
            folded.append(nn.Sequential(*layers))
            previous = a
    net.features = nn.Sequential(*folded)


def _affine_of(norm: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch norm in eval mode as ``x * a + b`` per channel: ``(a, b)``."""
    assert norm.running_mean is not None and norm.running_var is not None
    a = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        a = a * norm.weight
    b = -norm.running_mean * a
    if norm.bias is not None:
        b = b + norm.bias
    return a.detach(), b.detach()


def _monai_network(name: str, ndim: int, in_channels: int, n_classes: int) -> nn.Module:
    from monai.networks import nets

    if name.startswith("resnet"):
        factory = getattr(nets, name)
        return factory(spatial_dims=ndim, n_input_channels=in_channels, num_classes=n_classes)
    if name == "densenet121":
        return nets.DenseNet121(spatial_dims=ndim, in_channels=in_channels, out_channels=n_classes)
    raise InvalidInputError(f"unknown network {name!r}")


def _check_forward(net: nn.Module, name: str, in_channels: int, patch_shape) -> None:
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(torch.zeros((1, in_channels, *patch_shape)))
    except RuntimeError as exc:
        raise InvalidInputError(
            f"a patch of shape {tuple(patch_shape)} with {in_channels} channels does not fit "
            f"network {name!r} ({str(exc).splitlines()[0]}); use a larger patch_size"
        ) from None
    finally:
        net.train(was_training)


def load_initial_weights(net: nn.Module, path: str | Path) -> int:
    """Initialise ``net`` from a state_dict file without unpickling arbitrary objects.

    ``.safetensors`` files are read with safetensors; anything else with
    ``torch.load(weights_only=True)`` (a plain state_dict or ``{"state_dict": ...}``).
    Tensors whose name and shape match are copied; returns how many. Raises when none match.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: dict = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # the reader's message may quote the file's bytes: not shown
        raise InvalidInputError(
            f"cannot read weights file {path.name}: not a safetensors file or a torch "
            f"state_dict ({type(exc).__name__})"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InvalidInputError(f"weights file {path} does not hold a state_dict")
    own = net.state_dict()
    matching = {
        k: v
        for k, v in state.items()
        if k in own and isinstance(v, torch.Tensor) and v.shape == own[k].shape
    }
    if not matching:
        raise InvalidInputError(
            f"no tensor in {path} matches the network by name and shape; was it saved from "
            "the same architecture?"
        )
    own.update(matching)
    net.load_state_dict(own)
    return len(matching)
