"""What the ImageJ scripts share: command-line options for the JVM and the server, starting
ImageJ (pyimagej with a Fiji.app, or scyjava with ImageJ 1 jars), opening images, and a
server to talk to (a given address, or a private ``phenosort serve``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import InvalidInputError
from .jvm import jclass, start_jvm


def add_arguments(parser: argparse.ArgumentParser, *, gui: bool = False) -> None:
    """``--fiji``, ``--ij-jar``, ``--plugin-jar``, ``--pyimagej``, ``--server``, ``--token``."""
    g = parser.add_argument_group("ImageJ")
    g.add_argument("--fiji", type=Path, help="Fiji.app (or ImageJ) folder; default: Debian's "
                   "/usr/share/java/ij.jar and the plugin jar of this checkout")  # fmt: skip
    g.add_argument("--ij-jar", type=Path, help="ImageJ 1 jar (instead of --fiji)")
    g.add_argument("--plugin-jar", type=Path, help="PhenoSort_-<version>.jar (default: found)")
    g.add_argument("--pyimagej", action="store_true",
                   help="start ImageJ2 with pyimagej (needs --fiji, or Maven access)")  # fmt: skip
    if gui:
        g.add_argument("--gui", action="store_true", help="show ImageJ and the results")
    s = parser.add_argument_group("phenosort service")
    s.add_argument("--server", help="host:port of `phenosort serve`; default: start one here")
    s.add_argument("--token", default=os.environ.get("PHENOSORT_TOKEN"), help="bearer token")
    s.add_argument("--store", type=Path, help="store of the server started here (default: temp)")


def start_imagej(args: argparse.Namespace):
    """Start ImageJ as ``args`` say; returns the pyimagej gateway, or None (plain ImageJ 1)."""
    gui = bool(getattr(args, "gui", False))
    if args.pyimagej:
        import imagej  # only on request: pyimagej needs ImageJ2 jars

        mode = "interactive" if gui else "headless"
        ij = imagej.init(str(args.fiji) if args.fiji else "sc.fiji:fiji", mode=mode)
        start_jvm()  # checks that the plugin jar is in that JVM
        if gui:
            ij.ui().showUI()
        return ij
    start_jvm(fiji=args.fiji, ij_jar=args.ij_jar, plugin_jar=args.plugin_jar, headless=not gui)
    if gui:
        jclass("ij.ImageJ")()
    return None


def open_image(path: str | os.PathLike):
    """An image file as an ImagePlus (ImageJ's reader: Fiji adds Bio-Formats)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"image file {path} does not exist")
    imp = jclass("ij.IJ").openImage(str(path))
    if imp is None:
        raise InvalidInputError(f"ImageJ cannot open {path}")
    return imp


@contextlib.contextmanager
def server(args: argparse.Namespace) -> Iterator:
    """A connected :class:`~phenosort.client.Client`: to ``--server``, or to a private
    ``phenosort serve`` (stopped afterwards)."""
    from ..client import Client
    from ..service.local import LocalService

    with contextlib.ExitStack() as stack:
        address = args.server
        if address is None:
            store = args.store or Path(stack.enter_context(tempfile.TemporaryDirectory()))
            service = LocalService(store, timeout=120)
            address = service.start()
            stack.callback(service.stop)
        client = stack.enter_context(Client(address, token=args.token))
        yield client
