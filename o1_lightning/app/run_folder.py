"""One run per checkpoint folder: checks before a fit writes anything, and a lock file held while it runs."""

from __future__ import annotations

import errno
import os
import shutil
import socket
from pathlib import Path
from typing import ClassVar

from o1_lightning.errors import O1Error

LOCK_NAME = ".lock"
MIN_FREE_BYTES = 64 * 2**20  # a checkpoint of these models is a few MB; less free space than this fails a save


def shown(path: str | os.PathLike) -> str:
    """`path` relative to the working folder when it lies under it (shorter messages), else as given."""
    try:
        return str(Path(path).absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(folder: str | os.PathLike, what: str) -> None:
    """`folder` exists as a writable folder or can be made one, with some free space; O1Error in one line if not."""
    if "://" in str(folder) and not str(folder).startswith("file://"):
        return  # remote storage: the write itself reports its errors
    path = Path(str(folder).removeprefix("file://")).absolute()
    existing = nearest_existing(path)
    if not existing.is_dir():
        raise O1Error(f"{what} {shown(folder)!r} cannot be made: {shown(existing)!r} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise O1Error(f"{what} {shown(folder)!r} is not writable (no write permission on {shown(existing)!r})")
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        raise O1Error(f"{what} {shown(folder)!r} is on a disk with {free / 2**20:.1f} MB free; at least 64 MB needed")


def refuse_other_run(folder: str | os.PathLike, resuming: str | None = None) -> None:
    """A fit must not write into a folder that holds another run's last.ckpt: without --ckpt_path, or resuming a
    checkpoint from another folder (resuming one of this folder's own checkpoints continues its run)."""
    last = Path(folder) / "last.ckpt"
    if last.exists() and resuming and Path(resuming).resolve().parent != Path(folder).resolve():
        raise O1Error(
            f"{shown(folder)!r} holds another run's last.ckpt and --ckpt_path {resuming} is from another folder: "
            "resume it into its own folder with --run_name NAME"
        )
    if last.exists() and not resuming:
        raise O1Error(
            f"{shown(folder)!r} holds another run's last.ckpt: resume it with --ckpt_path {shown(last)}, "
            "or start a new run with --run_name NAME (or delete the folder)"
        )


class RunFolderLock:
    """`<folder>/.lock`, created exclusively while a fit writes there, naming its process; a second run stops.

    A lock left by a process that no longer runs on this machine (killed with SIGKILL) is taken over.
    """

    held: ClassVar[list[RunFolderLock]] = []

    def __init__(self, folder: str | os.PathLike) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.owner = f"{socket.gethostname()} {os.getpid()}"

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self.stale():
                    raise O1Error(
                        f"another run ({self.read_owner()}) is writing to {shown(self.path.parent)!r}: wait for it to "
                        f"end, or use --run_name NAME (if no such run is alive, delete {shown(self.path)!r})"
                    ) from None
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(descriptor, "w") as file:
                file.write(self.owner + "\n")
            RunFolderLock.held.append(self)
            return

    def read_owner(self) -> str:
        try:
            return self.path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def stale(self) -> bool:
        host, _, pid = self.read_owner().partition(" ")
        if host != socket.gethostname() or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except OSError as err:
            return err.errno == errno.ESRCH
        return False

    def release(self) -> None:
        if self in RunFolderLock.held:
            RunFolderLock.held.remove(self)
            if self.read_owner() == self.owner:
                self.path.unlink(missing_ok=True)
