"""phenosort's own processes turn NumPy's huge-page advice off (stalls on a fragmented
machine), unless NumPy's own switch ``NUMPY_MADVISE_HUGEPAGE`` says otherwise."""

from __future__ import annotations

import pytest
from numpy._core.multiarray import _set_madvise_hugepage

from phenosort.cli import main
from phenosort.huge_pages import avoid_huge_page_stalls


def _advice() -> bool:
    """NumPy's setting now (read by setting it, then set back)."""
    now = _set_madvise_hugepage(True)
    _set_madvise_hugepage(now)
    return now


@pytest.fixture(autouse=True)
def _numpy_setting_kept():
    before = _advice()
    yield
    _set_madvise_hugepage(before)


def test_a_command_turns_the_advice_off(monkeypatch, capsys):
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    _set_madvise_hugepage(True)
    assert main(["info", "--settings"]) == 0
    assert "predict_batch_size" in capsys.readouterr().out
    assert _advice() is False


@pytest.mark.parametrize("advice", [True, False])
def test_numpys_own_switch_is_left_as_the_user_set_it(monkeypatch, advice):
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1" if advice else "0")
    _set_madvise_hugepage(advice)  # what NumPy read from the variable at import
    avoid_huge_page_stalls()
    assert _advice() is advice
