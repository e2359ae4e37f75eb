"""The package surface: lazy public names, no heavy imports at import time."""

from __future__ import annotations

import subprocess
import sys


def test_import_loads_neither_torch_nor_grpc():
    code = "import sys, phenosort; print('torch' in sys.modules, 'grpc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# each public name and the module that defines it
PUBLIC = {
    "ModelConfig": "phenosort.model.config",
    "ModelStore": "phenosort.store",
    "ObjectClassifier": "phenosort.classifier",
    "Prediction": "phenosort.results",
    "Sample": "phenosort.classifier",
}


def test_public_names_resolve():
    """Every name of ``__all__`` is the class its module defines, loaded on first use in a
    fresh interpreter; a name outside ``__all__`` is an AttributeError (issue 18: the old
    test only checked ``is not None``, which a resolving name always passes)."""
    code = f"""
import importlib, sys, phenosort
assert sorted(phenosort.__all__) == sorted({sorted(PUBLIC)!r} + ["__version__"])
for name, module in {PUBLIC!r}.items():
    obj = getattr(phenosort, name)
    assert obj is getattr(importlib.import_module(module), name), name
    assert isinstance(obj, type) and obj.__name__ == name and obj.__module__ == module, obj
assert isinstance(phenosort.__version__, str) and phenosort.__version__[0].isdigit()
try:
    phenosort.NoSuchName
except AttributeError as exc:
    assert "NoSuchName" in str(exc)
else:
    raise AssertionError("an unknown name resolved")
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr
