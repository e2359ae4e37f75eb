"""Harness for phenosort.imagej: one JVM per test process (JPype cannot restart one), started
by scyjava offline with Debian's ImageJ 1 and the built plugin jar, headless; and a real
``phenosort serve`` on loopback. A missing jar or package fails the tests, never skips them:
CI builds the jar before pytest."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IJ_JAR = Path("/usr/share/java/ij.jar")


@pytest.fixture(scope="session")
def jvm(plugin_jar):
    """The running JVM (ij.jar + plugin jar, java.awt.headless=true); yields scyjava."""
    try:
        import scyjava
    except ImportError:
        pytest.fail("scyjava is not installed (pip install -e '.[imagej]'; scripts/setup.sh does)")
    if not IJ_JAR.is_file():
        pytest.fail(f"{IJ_JAR} is missing (Debian package libij-java, scripts/apt-packages.txt)")
    from phenosort.imagej import start_jvm

    start_jvm(ij_jar=IJ_JAR, plugin_jar=plugin_jar, headless=True, max_heap="1g")
    return scyjava
