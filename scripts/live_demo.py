"""The live loop from Python: a simulated user labels objects one by one and every object's
class follows after each label (issue 16).

A generated image (``phenosort.testing``: dim, bright and striped objects, true classes
known) is watched by a live session of a new model on a ``phenosort serve`` (``--server``,
or one started here). The "user" labels ``--labels`` objects in random order with their
true class; each line shows the update that followed: how many labels, how long it took,
whether it was a quick update (last layer refitted) or a full one, and the accuracy of the
live model on every object against the truth. At the end the live model is committed as
version 1 of the model.

With ``--imagej`` the class map (Glasbey colours, as the plugin draws it) is shown in
ImageJ and redrawn after each update: ImageJ 1 through scyjava (Debian's ij.jar), or
ImageJ2 with ``--pyimagej --fiji /path/to/Fiji.app``; add ``--gui`` to see it.

    .venv/bin/python scripts/live_demo.py [--size 256 --labels 12] [--imagej --gui]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from phenosort.imagej.session import add_arguments, server
from phenosort.objects.table import LabelIndex
from phenosort.testing import make_objects


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="image side (one object per 32²)")
    parser.add_argument("--labels", type=int, default=12)
    parser.add_argument("--model", default="live-demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--imagej", action="store_true", help="show the class map in ImageJ")
    add_arguments(parser, gui=True)
    args = parser.parse_args()

    grid = max(2, args.size // 32)
    data = make_objects("demo", grid=(grid, grid), cell=32, seed=args.seed)
    truth = {int(i): k for i, k in data.classes.items()}
    index = LabelIndex.of(data.labels)
    shown = None
    if args.imagej:
        from phenosort.imagej.session import start_imagej

        start_imagej(args)

    with server(args) as client:
        if args.model in [m.name for m in client.list_models()]:
            client.delete_model(args.model)
        client.create_model(args.model, data.class_names)
        with client.live_session(args.model) as live:
            key = live.add_image(data.image, data.labels, axes=data.axes, name="demo")
            updates = live.updates(predictions_only=True)
            order = np.random.default_rng(args.seed).permutation(sorted(truth))
            print(f"{len(truth)} objects, classes {', '.join(data.class_names)}; labelling "
                  f"{args.labels} of them, one at a time")  # fmt: skip
            for n, label in enumerate(order[: args.labels], start=1):
                k = truth[int(label)]
                start = time.perf_counter()
                version = live.label(key, int(label), data.class_names[k - 1])
                if len({truth[int(i)] for i in order[:n]}) < 2:
                    print(f"{n:3d} labels: waiting for a second class")
                    continue
                while True:  # the quick update (if any), then the full one
                    update = next(updates)
                    if update.updated_version < version:
                        continue
                    result = update.images[key]
                    right = np.mean([truth[int(i)] == c for i, c in
                                     zip(result.label_id, result.class_index)])  # fmt: skip
                    kind = "quick" if update.quick else "full "
                    print(f"{n:3d} labels: {kind} update after {time.perf_counter() - start:5.2f}"
                          f" s, accuracy on all objects {right:.3f}, least sure margin "
                          f"{result.margin.min():.2f}")  # fmt: skip
                    if args.imagej:
                        shown = show(shown, index.paint(result.class_index), data.class_names)
                    if not update.quick and update.trained_version >= version:
                        break
            updates.close()
            saved = live.commit(save_labels=True)
            print(f"committed the live model as version {saved['version']} of {args.model!r} "
                  f"(labels saved to its training set: {saved['counts']})")  # fmt: skip
    return 0


def show(imp, class_map: np.ndarray, class_names: list[str]):
    """Show the class map in ImageJ, or redraw the window already shown."""
    from phenosort.imagej.display import class_map_imageplus

    fresh = class_map_imageplus(class_map.astype(np.uint8), class_names, title="live classes")
    if imp is None:
        fresh.show()
        return fresh
    imp.setProcessor(fresh.getProcessor())
    imp.updateAndDraw()
    return imp


if __name__ == "__main__":
    raise SystemExit(main())
