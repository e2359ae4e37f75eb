"""phenosort: sort segmented objects into classes with a small CNN trained on object patches.

Importing this package loads neither torch nor grpc; the heavy parts load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"
