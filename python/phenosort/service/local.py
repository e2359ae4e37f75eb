"""``phenosort serve`` as a child process on a free loopback port: what the demo, the ImageJ
scripts (without ``--server``), the tests and the benchmarks start and stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import PhenosortError


class LocalService:
    """``phenosort serve`` in a child process: :meth:`start` returns its ``host:port``."""

    def __init__(self, store: Path, device: str | None = None, timeout: float = 60.0) -> None:
        self.store, self.device, self.timeout = Path(store), device, timeout
        self.process: subprocess.Popen | None = None
        self._drain: threading.Thread | None = None
        self.address = ""

    def start(self) -> str:
        cmd = [sys.executable, "-m", "phenosort.cli", "serve", "--port", "0",
               "--store", str(self.store), "--log-level", "WARNING"]  # fmt: skip
        if self.device:
            cmd += ["--device", self.device]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        stdout = self.process.stdout
        assert stdout is not None  # stdout=PIPE
        deadline = time.monotonic() + self.timeout
        for line in stdout:  # the server prints READY host:port when listening
            if line.startswith("READY "):
                self.address = line.split()[1]
                # keep draining stdout so the server never blocks on a full pipe
                self._drain = threading.Thread(target=stdout.read, daemon=True)
                self._drain.start()
                return self.address
            if time.monotonic() > deadline:
                break
        self.stop()
        raise PhenosortError("the phenosort service did not start (no READY line)")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            if self._drain is not None:
                self._drain.join(timeout=5)  # reads to EOF now that the process has ended
            self.process.stdout.close()
