"""Checkpoint files that are never half-written: written beside their name, fsynced, then renamed over it."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from o1_lightning.errors import O1Error


def is_local(path: str | os.PathLike) -> bool:
    """Whether `path` names a local file (no `s3://`-style protocol)."""
    text = str(path)
    return "://" not in text or text.startswith("file://")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, made atomic for local files.

    Lightning writes a local file through fsspec, which stages it in the system temp folder and then moves it
    into place: a rename only when that folder is on the same filesystem, otherwise a copy that a kill can cut
    short. Here a local checkpoint goes to `NAME.<pid>.part` beside its final name and is renamed over it (atomic
    on POSIX), so a process killed at any moment leaves the previous complete file. A failed write (disk full,
    read-only folder) removes its partial file and stops with one line; the previous file stays whole.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if not is_local(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        final = Path(str(path).removeprefix("file://"))
        partial = final.with_name(f"{final.name}.{os.getpid()}.part")  # one per process: concurrent saves never meet
        try:
            super().save_checkpoint(checkpoint, partial, storage_options)
            with open(partial, "rb") as written:
                os.fsync(written.fileno())
            os.replace(partial, final)
        except OSError as err:
            with contextlib.suppress(OSError):  # the folder itself may be what failed
                partial.unlink(missing_ok=True)
            reason = err.strerror or errno.errorcode.get(err.errno or 0, type(err).__name__)
            raise O1Error(
                f"could not write checkpoint {str(final)!r}: {reason}; the previous checkpoint there, if any, is whole"
            ) from None
