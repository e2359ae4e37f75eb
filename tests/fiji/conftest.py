"""Harness for the Fiji plugin's end-to-end tests: the built plugin jar in a real ImageJ 1
(Debian's ij.jar) under Xvfb, talking to a real ``phenosort serve`` on loopback.

ImageJ's exit code says nothing (``-batch`` exits 0 after an exception), so every macro run
writes its findings to a file with ``emit(...)`` and ends with a sentinel line that the harness
checks; every run has a timeout, since a modal dialog would wait forever under Xvfb.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IJ_JAR = Path("/usr/share/java/ij.jar")
SENTINEL = "PHENOSORT-MACRO-DONE"
SCREEN = "-screen 0 1280x1024x24"


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed (scripts/setup.sh installs scripts/apt-packages.txt)")
    return path


@dataclass
class MacroRun:
    """What an ImageJ run left: the emitted lines, ImageJ's own output and exit status."""

    lines: list[str]
    output: str
    returncode: int

    def values(self, key: str) -> list[str]:
        """Every emitted ``key=value`` value of ``key``."""
        return [line.split("=", 1)[1] for line in self.lines if line.startswith(key + "=")]

    def value(self, key: str) -> str:
        found = self.values(key)
        assert found, f"the macro emitted no {key}=...; lines: {self.lines}\n{self.output[-3000:]}"
        return found[-1]


@pytest.fixture(scope="session")
def imagej_home(tmp_path_factory, plugin_jar) -> Path:
    """An ImageJ folder whose plugins/ holds the built jar, as a user's Fiji.app would."""
    _require("java")
    if not IJ_JAR.is_file():
        pytest.fail(f"{IJ_JAR} is missing (Debian package libij-java)")
    home = tmp_path_factory.mktemp("imagej")
    (home / "plugins").mkdir()
    shutil.copy(plugin_jar, home / "plugins")
    return home


@pytest.fixture()
def run_macro(imagej_home, tmp_path, plugin_jar):
    """Run an ImageJ macro; returns a :class:`MacroRun`.

    ``mode``: "batch" (``-batch`` under Xvfb, ``run()`` commands work), "gui" (ImageJ's window
    under Xvfb, the macro runs in it and quits) or "headless" (no display at all: only
    ``call()`` works; the jar is on the class path instead of in plugins/).
    """
    counter = iter(range(1000))

    def run(body: str, *, mode: str = "batch", timeout: float = 180) -> MacroRun:
        n = next(counter)
        out = tmp_path / f"macro{n}.out"
        macro = tmp_path / f"macro{n}.ijm"
        prelude = f'var OUT = "{out}";\nfunction emit(s) {{ File.append(s, OUT); }}\n'
        ending = f'\nemit("{SENTINEL}");\n' + ('run("Quit");\n' if mode == "gui" else "")
        macro.write_text(prelude + body + ending)
        java = [_require("java"), "-Xmx2g", "-Duser.home=" + str(tmp_path)]
        if mode == "headless":
            cmd = [*java, "-Djava.awt.headless=true", "-cp", f"{IJ_JAR}:{plugin_jar}",
                   "ij.ImageJ", "-batch", str(macro)]  # fmt: skip
        else:
            ij = [*java, f"-Dplugins.dir={imagej_home}", "-cp", str(IJ_JAR), "ij.ImageJ"]
            flag = ["-batch", str(macro)] if mode == "batch" else ["-macro", str(macro)]
            cmd = [_require("xvfb-run"), "-a", "-s", SCREEN, *ij, *flag]
        env = {**os.environ, "LC_ALL": "C"}
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                                  cwd=tmp_path)  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            lines = out.read_text().splitlines() if out.exists() else []
            tail = f"{(exc.stdout or b'')[-3000:]!r} {(exc.stderr or b'')[-3000:]!r}"
            pytest.fail(f"ImageJ did not finish in {timeout} s; emitted {lines}; output {tail}")
        lines = out.read_text().splitlines() if out.exists() else []
        result = MacroRun(lines, proc.stdout + proc.stderr, proc.returncode)
        assert SENTINEL in lines, (
            f"the macro did not reach its end; emitted {lines}\n{result.output[-4000:]}"
        )
        return result

    return run
