"""Live sessions: one background trainer per model that follows the user's labels.

- :mod:`.sessions`: :class:`LiveSessions`, the server's sessions (at most one per model):
  open or attach, add images, change labels, commit, close;
- :mod:`.session`: :class:`LiveSession`, one session's images, labels, state and watchers;
- :mod:`.trainer`: the session's worker thread, which trains its
  :class:`~phenosort.model.live_update.LiveModel` and publishes the updates.
"""

from .session import LiveSession
from .sessions import LiveSessions

__all__ = ["LiveSession", "LiveSessions"]
