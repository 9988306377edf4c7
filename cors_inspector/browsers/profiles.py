"""Throwaway browser profiles: a directory per browser started, named for the process that
made it (`cors-inspector-profile-PID-xxxx` in the temporary directory), so that a profile
left behind by a killed cors-inspector, which could not remove its own, is removed by the
next one that starts a browser."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "cors-inspector-profile-"


def new_profile() -> Path:
    """A fresh private directory for one browser's profile (stale ones removed first)."""
    remove_stale()
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))


def remove_stale(root: Path | None = None) -> list[Path]:
    """Remove the profiles of this user's cors-inspector processes that are gone; those
    removed. A profile of a process still running (another cors-inspector) is left alone."""
    removed = []
    for entry in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        owner = entry.name[len(PREFIX) :].split("-", 1)[0]
        if not owner.isdigit() or _running(int(owner)):
            continue
        try:
            info = entry.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process: running
    return True
