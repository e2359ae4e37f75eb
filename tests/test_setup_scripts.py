"""The set-up scripts: ``scripts/apt-get-wait.sh`` (used by ``scripts/setup.sh`` and so by
``scripts/demo.sh``) waits, saying so, while another package manager holds apt's or dpkg's
locks, instead of failing with "Could not get lock" (issue 18). A stand-in ``apt-get`` and
stand-in lock files keep the machine's real package manager out of it."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

SCRIPT = REPO / "scripts" / "apt-get-wait.sh"
pytestmark = pytest.mark.skipif(shutil.which("lslocks") is None, reason="needs lslocks")


@pytest.fixture
def fake_apt(tmp_path: Path):
    """(environment whose apt-get records its arguments, record file, lock file)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "apt-get.args"
    apt = bin_dir / "apt-get"
    apt.write_text(f'#!/bin/sh\necho "$@" > "{record}"\n')
    apt.chmod(0o755)
    lock = tmp_path / "lock-frontend"
    lock.touch()
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "APT_LOCKS": f"{tmp_path / 'lists-lock'} {lock}",
        "APT_LOCK_TIMEOUT": "60",
    }
    return env, record, lock


def _hold(lock: Path) -> int:
    """Take the lock as dpkg and apt do (fcntl); closing the descriptor releases it."""
    fd = os.open(lock, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def test_runs_apt_get_at_once_when_no_lock_is_held(fake_apt):
    env, record, _ = fake_apt
    done = subprocess.run(["bash", SCRIPT, "update", "-qq"], env=env, capture_output=True,
                          text=True, timeout=30)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert record.read_text().split() == ["-o", "DPkg::Lock::Timeout=60", "update", "-qq"]


def test_waits_with_a_message_while_another_package_manager_runs(fake_apt):
    env, record, lock = fake_apt
    fd = _hold(lock)
    try:
        proc = subprocess.Popen(["bash", SCRIPT, "install", "-y", "junit4"], env=env,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        first = proc.stderr.readline()  # printed once the held lock is seen
        assert re.search(rf"\(pid {os.getpid()}\) holds {re.escape(str(lock))}; waiting", first)
        assert "up to 60 s" in first
        assert proc.poll() is None and not record.exists()  # still waiting
    finally:
        os.close(fd)  # the other package manager finishes
    _, rest = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert "the lock was released after" in rest
    assert record.read_text().split() == ["-o", "DPkg::Lock::Timeout=60", "install", "-y", "junit4"]


def test_gives_up_after_the_timeout_naming_the_holder(fake_apt):
    env, record, lock = fake_apt
    fd = _hold(lock)
    try:
        done = subprocess.run(["bash", SCRIPT, "update"], env={**env, "APT_LOCK_TIMEOUT": "1"},
                              capture_output=True, text=True, timeout=30)  # fmt: skip
    finally:
        os.close(fd)
    assert done.returncode == 1
    assert "gave up after 1 s: " in done.stderr and str(lock) in done.stderr
    assert not record.exists()


def test_setup_calls_apt_get_only_through_the_waiting_wrapper():
    text = (REPO / "scripts" / "setup.sh").read_text()
    calls = re.findall(r"^[^#\n]*\bapt-get\b[^\n]*", text, flags=re.MULTILINE)
    direct = [c for c in calls if re.search(r"(?<![-/])apt-get (update|install)", c)]
    assert direct == [], direct
    assert "apt-get-wait.sh update" in text and "apt-get-wait.sh install" in text
