"""NumPy's huge-page advice, turned off in phenosort's own processes.

NumPy asks the kernel to back every new array of 4 MB or more with 2 MB pages. Each first
touch then takes a whole 2 MB page, which the kernel may first compact memory for (under
the common ``defrag=madvise``) and a VM's host may first have to back, and a fresh array
stalls: on a long-running VM the first object table, class map or TIFF of a process took
2-5x their later time. Without the advice, the first
``phenosort predict`` of a 4096 x 4096 image took 0.90x the time (median of 8 pairs, each
in a new process) and later predictions the same (docs/benchmarks.md, issue 15).

The CLI, the server and the Dask workers call :func:`avoid_huge_page_stalls` once; a script
that imports phenosort keeps NumPy's setting (``NUMPY_MADVISE_HUGEPAGE=0`` turns it off).
"""

from __future__ import annotations

import os


def avoid_huge_page_stalls() -> None:
    """Turn NumPy's huge-page advice off in this process, unless the environment sets it
    (``NUMPY_MADVISE_HUGEPAGE``, NumPy's own switch) or this NumPy has no such advice."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    switch = getattr(multiarray, "_set_madvise_hugepage", None)  # NumPy >= 1.20
    if switch is not None:
        switch(False)
