"""cors-inspector as users install it: the wheel is built, installed into a fresh virtualenv
(dependencies from the package index), and its commands run from there, outside the checkout.

One virtualenv per test session (installing mitmproxy and Textual takes a while); everything
lives in pytest's temporary directory. Select with `-m release`, leave out with
`-m "not release"`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.release
PACKAGE = REPO / "cors_inspector"
# Nothing of the test's own environment may leak into the install (PYTHONPATH would make the
# checkout's package, or its egg-info, count as installed).
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COLUMNS")}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path  # the virtualenv's bin/
    cwd: Path  # outside the checkout: nothing is imported from it

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]],
            cwd=self.cwd,
            env={**CLEAN_ENV, "COLUMNS": "100", "TZ": "UTC"},
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel-install")
    dist = root / "dist"
    # A copy of what the build reads: setuptools writes build/ and *.egg-info into the source
    # tree, and nothing is to be left in the checkout.
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(PACKAGE, source / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__"))
    # Built as pip builds it for users: in an isolated environment with the build-system
    # requirements of pyproject.toml (so a too-old setuptools fails here).
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(dist), "-q"],
        capture_output=True,
        text=True,
        env=CLEAN_ENV,
        cwd=root,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("cors_inspector-*.whl")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    pip = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        env=CLEAN_ENV,
        cwd=root,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    cwd = root / "work"
    cwd.mkdir()
    return Installed(wheel, bin_dir, cwd)


def test_the_wheel_holds_every_stylesheet_and_the_sample(installed: Installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    wanted = {
        path.relative_to(REPO).as_posix()
        for pattern in ("**/*.tcss", "samples/*.mitm")
        for path in PACKAGE.glob(pattern)
    }
    assert "cors_inspector/samples/demo.mitm" in wanted
    assert any(name.endswith(".tcss") for name in wanted)
    assert wanted - names == set()


def test_the_installed_package_is_the_one_that_runs(installed: Installed):
    where = installed.run("python", "-c", "import cors_inspector; print(cors_inspector.__file__)")
    assert where.returncode == 0, where.stderr
    assert "site-packages" in where.stdout and str(REPO) not in where.stdout


def test_analyze_from_the_install(installed: Installed):
    result = installed.run("cors-inspector", "analyze")  # the bundled sample
    assert result.returncode == 1, result.stderr  # the sample has blocked requests
    assert "bundled sample demo.mitm" in result.stderr
    assert "✘ blocked" in result.stdout and "MissingAllowOriginHeader" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_fix_from_the_install(installed: Installed):
    result = installed.run("cors-inspector", "fix", "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    assert '"backend"' in result.stdout
    text = installed.run("cors-inspector", "fix")
    assert "CORSMiddleware" in text.stdout and "verified with Starlette" in text.stdout


def test_the_tui_starts_from_the_install(installed: Installed):
    result = installed.run("python", str(Path(__file__).with_name("tui_smoke.py")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert int(lines["requests"]) > 0
    assert lines["screen"] == "SummaryScreen"


def test_help_from_the_install(installed: Installed):
    result = installed.run("cors-inspector", "--help")
    assert result.returncode == 0 and "cors-inspector analyze" in result.stdout
