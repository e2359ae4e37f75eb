"""The package surface: lazy public names, no heavy imports at import time."""

from __future__ import annotations

import subprocess
import sys


def test_import_loads_neither_torch_nor_grpc():
    code = "import sys, phenosort; print('torch' in sys.modules, 'grpc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_public_names_resolve():
    import phenosort

    for name in phenosort.__all__:
        assert getattr(phenosort, name) is not None
