"""Start a JVM with ImageJ 1 and the PhenoSort plugin jar through scyjava, offline.

scyjava's default tries to download a JRE and Maven artifacts; on machines without that
access it fails, so every start here sets ``fetch="never"`` and uses local jars only: Debian's
``/usr/share/java/ij.jar`` or the ``ij-*.jar`` of a Fiji.app, and the plugin jar from
``fiji-plugin/target`` (a source checkout) or ``Fiji.app/plugins``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import InvalidInputError, PhenosortError

DEBIAN_IJ_JAR = Path("/usr/share/java/ij.jar")
PLUGIN_CLASS = "org.phenosort.phenosort.imagej.Glasbey"
_REPO = Path(__file__).resolve().parents[3]


class JvmError(PhenosortError):
    """No usable JVM: not started, started without ImageJ 1 or without the plugin jar."""


def _newest(jars: list[Path]) -> Path | None:
    jars = [j for j in jars if not j.name.startswith("original-")]  # the unshaded build jar
    return max(jars, key=lambda j: j.stat().st_mtime) if jars else None


def find_plugin_jar(fiji: str | os.PathLike | None = None) -> Path:
    """The PhenoSort plugin jar: ``$PHENOSORT_PLUGIN_JAR``, else in ``<fiji>/plugins`` (when
    given), else the build output ``fiji-plugin/target`` of this source checkout."""
    env = os.environ.get("PHENOSORT_PLUGIN_JAR")
    if env:
        if not Path(env).is_file():
            raise InvalidInputError(f"PHENOSORT_PLUGIN_JAR={env} is not a file")
        return Path(env)
    places = [Path(fiji) / "plugins"] if fiji else []
    places.append(_REPO / "fiji-plugin" / "target")
    for folder in places:
        jar = _newest(sorted(folder.glob("PhenoSort_-*.jar")))
        if jar is not None:
            return jar
    raise InvalidInputError(
        "the PhenoSort plugin jar (PhenoSort_-<version>.jar) is in none of "
        f"{', '.join(map(str, places))}; build it (scripts/build-plugin.sh) or install it "
        "(scripts/install-fiji-plugin.sh), or set PHENOSORT_PLUGIN_JAR"
    )


def find_ij_jar(fiji: str | os.PathLike | None = None) -> Path:
    """ImageJ 1: ``<fiji>/jars/ij-*.jar`` (Fiji) or ``<fiji>/ij.jar`` (ImageJ 1) when ``fiji``
    is given, else Debian's ij.jar."""
    if fiji is not None:
        found = sorted((Path(fiji) / "jars").glob("ij-*.jar")) + sorted(Path(fiji).glob("ij.jar"))
        jar = _newest(found)
        if jar is None:
            raise InvalidInputError(f"{fiji} has neither jars/ij-*.jar nor ij.jar: not ImageJ")
        return jar
    if not DEBIAN_IJ_JAR.is_file():
        raise InvalidInputError(
            f"{DEBIAN_IJ_JAR} is missing: install the Debian package libij-java or pass the "
            "ImageJ/Fiji folder"
        )
    return DEBIAN_IJ_JAR


def start_jvm(
    *,
    fiji: str | os.PathLike | None = None,
    ij_jar: str | os.PathLike | None = None,
    plugin_jar: str | os.PathLike | None = None,
    headless: bool = True,
    max_heap: str = "2g",
    extra_classpath: tuple[str | os.PathLike, ...] = (),
) -> None:
    """Start the JVM with ImageJ 1 and the plugin jar (no downloads); idempotent.

    A JVM can start once per process: if one runs already (pyimagej, an earlier call), this
    only checks that the plugin classes are there.
    """
    import scyjava

    if scyjava.jvm_started():
        require_plugin()
        return
    if "imglyb" in sys.modules:  # imported by pyimagej: it adds Maven endpoints and a start hook
        raise JvmError(
            "pyimagej is imported, and its start hook needs ImgLib2 jars a plain ImageJ 1 JVM "
            "lacks: start ImageJ with imagej.init('/path/to/Fiji.app') instead, or call "
            "start_jvm() before importing imagej"
        )
    jars = [
        Path(ij_jar) if ij_jar else find_ij_jar(fiji),
        Path(plugin_jar) if plugin_jar else find_plugin_jar(fiji),
        *map(Path, extra_classpath),
    ]
    for jar in jars:
        if not jar.is_file():
            raise InvalidInputError(f"jar {jar} does not exist")
    scyjava.config.set_java_constraints(fetch="never")
    scyjava.config.add_classpath(*map(str, jars))
    scyjava.config.add_option(f"-Xmx{max_heap}")
    if headless:
        scyjava.config.add_option("-Djava.awt.headless=true")
    if fiji is not None:  # ImageJ finds plugins/, luts/ and macros/ there
        scyjava.config.add_option(f"-Dplugins.dir={Path(fiji).resolve()}")
    scyjava.start_jvm()
    require_plugin()


def jclass(name: str):
    """A Java class of the running JVM; a clear error when there is none or it lacks it."""
    import scyjava

    if not scyjava.jvm_started():
        raise JvmError(
            "no JVM is running: call phenosort.imagej.start_jvm() or imagej.init() first"
        )
    try:
        return scyjava.jimport(name)
    except Exception as exc:  # JPype raises a Java-side ClassNotFoundException or ImportError
        raise JvmError(f"the JVM has no class {name}: {exc}") from None


def require_plugin() -> None:
    """Raise :class:`JvmError` unless the running JVM holds ImageJ 1 and the plugin jar."""
    jclass("ij.ImagePlus")
    try:
        jclass(PLUGIN_CLASS)
    except JvmError:
        raise JvmError(
            "the running JVM lacks the PhenoSort plugin jar: put PhenoSort_-<version>.jar in "
            "Fiji.app/plugins (scripts/install-fiji-plugin.sh) before imagej.init(), or start "
            "the JVM with phenosort.imagej.start_jvm()"
        ) from None


def is_headless() -> bool:
    """True when ImageJ cannot open windows (no display, or java.awt.headless=true)."""
    return bool(jclass("java.awt.GraphicsEnvironment").isHeadless())
