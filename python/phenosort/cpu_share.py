"""How many cores this process may keep busy with array passes (decoding, the object table).

torch's thread count says it once torch is loaded: a Dask cluster's workers set it to
their share of the machine. Before that, every core.
"""

from __future__ import annotations

import os
import sys


def cpu_share() -> int:
    """This process's share of the cores: torch's thread count when torch is loaded (in the
    calling thread), else the machine's core count."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return max(1, torch.get_num_threads())
    return max(1, os.cpu_count() or 1)
