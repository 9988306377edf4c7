"""The engine is pure: importing it pulls in no mitmproxy, Textual or Rich."""

import subprocess
import sys


def test_engine_imports_no_adapter_library():
    probe = (
        "import sys, cors_inspector.engine\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "bad = sorted(roots & {'mitmproxy', 'textual', 'rich'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
