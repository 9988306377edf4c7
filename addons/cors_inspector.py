"""cors-inspector as a mitmproxy script:

mitmdump -s addons/cors_inspector.py [--set cors_log=decisions.jsonl] [--set cors_save=flows.mitm]
mitmproxy -s addons/cors_inspector.py      (blocked flows are marked, the reason is the comment)
mitmweb -s addons/cors_inspector.py
"""

import sys
from pathlib import Path

try:
    from cors_inspector.mitm.addon import CorsInspector
except ImportError:  # run from a checkout with a mitmproxy that does not have us installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cors_inspector.mitm.addon import CorsInspector

addons = [CorsInspector()]
