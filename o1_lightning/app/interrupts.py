"""Ctrl-C and SIGTERM during a fit: finish the update under way, then stop cleanly (LastCheckpoint saves it)."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """Signal handlers that turn the first SIGINT / SIGTERM into a request to stop at the next update boundary.

    Stopping in the middle of an update (Python's default for Ctrl-C) leaves a state that is no update at all:
    rollouts drawn from the generator but not learned from, or an optimizer step half applied. A second signal
    stops at once, without saving (the last checkpoint is then the one written before).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        self.signum = None
        for signum in SIGNALS:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            self.restore()
            raise KeyboardInterrupt
        self.signum = signum
        print(
            f"\n{signal.Signals(signum).name} received: finishing this update, then writing the last checkpoint "
            "(send it again to stop at once without saving)",
            file=sys.stderr,
            flush=True,
        )
