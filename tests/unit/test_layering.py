"""The layout's promises, checked: the data flows one way, the engine is pure, `--help` loads
no mitmproxy, and the tests that need no browser are collected without Playwright."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _imported_roots(module: str) -> set[str]:
    probe = (
        f"import sys, {module}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_the_layers_contract_of_pyproject_holds():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if not lint_imports:
        pytest.skip("import-linter is not installed (it is part of the test extra)")
    result = subprocess.run([lint_imports], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_engine_imports_no_adapter_library():
    assert not _imported_roots("cors_inspector.engine") & {
        "mitmproxy",
        "textual",
        "rich",
        "starlette",
    }


def test_the_command_line_loads_no_mitmproxy_textual_or_starlette():
    # Every `--help` and every HAR analysis pays for what `import cors_inspector.cli` loads.
    assert not _imported_roots("cors_inspector.cli") & {"mitmproxy", "textual", "starlette"}


BLOCK_PLAYWRIGHT = """
import sys
class NoPlaywright:
    def find_spec(self, name, path=None, target=None):
        if name == "playwright" or name.startswith("playwright."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, NoPlaywright())
import pytest
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]]))
"""


def test_tests_that_need_no_browser_are_collected_without_playwright():
    suites = ["tests/unit", "tests/tui", "tests/live"]
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_PLAYWRIGHT, *suites], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "error" not in result.stdout.lower().splitlines()[-1]
