"""Throwaway profiles: one left by a cors-inspector that was killed is removed by the next;
a running one's, and directories that are not ours, are left alone."""

from __future__ import annotations

import os
import subprocess
import sys

from cors_inspector.browsers import profiles


def test_the_profile_of_a_process_gone_is_removed_and_the_others_are_kept(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid names no process now
    stale = tmp_path / f"{profiles.PREFIX}{gone.pid}-abcd1234"
    (stale / "Default").mkdir(parents=True)
    (stale / "Default" / "Cookies").write_text("x")
    ours = tmp_path / f"{profiles.PREFIX}{os.getpid()}-efgh5678"  # this process: running
    ours.mkdir()
    older = tmp_path / f"{profiles.PREFIX}k3j4h5g6"  # no pid in its name: whose, unknown
    older.mkdir()
    not_a_directory = tmp_path / f"{profiles.PREFIX}{gone.pid}-file"
    not_a_directory.write_text("kept")
    assert profiles.remove_stale(tmp_path) == [stale]
    assert not stale.exists()
    assert ours.is_dir() and older.is_dir() and not_a_directory.is_file()


def test_a_new_profile_is_private_and_named_for_this_process(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(profiles.tempfile, "tempdir", None)  # TMPDIR read again
    profile = profiles.new_profile()
    assert profile.parent == tmp_path
    assert profile.name.startswith(f"{profiles.PREFIX}{os.getpid()}-")
    assert profile.stat().st_mode & 0o777 == 0o700
