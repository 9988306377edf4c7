"""Exit statuses and the one error type of the command line.

Every command returns an ExitStatus; anything wrong with the user's input is a CliError, which
`main` prints as one line (never a traceback) and turns into its status.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0  # nothing blocked (analyze, replay), every fix verified (fix)
    BLOCKED = 1  # something blocked, or a fix that still leaves requests blocked
    UNREADABLE = 2  # an input could not be read, or the command line is wrong
    INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


class CliError(Exception):
    """A problem with what the user asked for: one line, and the status to exit with."""

    def __init__(self, message: str, status: ExitStatus = ExitStatus.UNREADABLE) -> None:
        super().__init__(message)
        self.status = status
