"""`cors-inspector browser [--firefox]`: a browser with a throwaway profile, pointed at the proxy.

Chromium or Chrome when installed (unless `--firefox`), else Firefox; the profile trusts
mitmproxy's certificate authority for itself only and is removed when the browser exits.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import chromium, firefox

NO_BROWSER = """\
No browser found: cors-inspector browser starts Chromium, Chrome or Firefox. Install one, e.g.
  apt-get install chromium        (Debian, Ubuntu: chromium-browser)
  apt-get install firefox-esr libnss3-tools
or start your own browser with its proxy set to {host}:{port} (for Firefox, also set
network.proxy.allow_hijacking_localhost = true in about:config, so localhost goes through the
proxy) and open http://mitm.it through it to trust mitmproxy's certificate.
"""


def _firefox_arguments(
    executable: str, profile: Path, host: str, port: int, url: str, headless: bool
) -> list[str]:
    firefox.write_profile(profile, host, port)
    firefox.trust_ca(profile, chromium.mitmproxy_ca_pem())
    return firefox.firefox_arguments(executable, profile, url, headless)


def run_browser(url: str, host: str, port: int, headless: bool, use_firefox: bool = False) -> int:
    executable = None if use_firefox else chromium.find_browser()
    is_firefox = executable is None
    if is_firefox:
        executable = firefox.find_firefox()
    if executable is None:
        print(NO_BROWSER.format(host=host, port=port), file=sys.stderr)
        return 2
    profile = Path(tempfile.mkdtemp(prefix="cors-inspector-profile-"))
    try:
        if is_firefox:
            arguments = _firefox_arguments(executable, profile, host, port, url, headless)
        else:
            arguments = chromium.browser_arguments(
                executable,
                profile,
                f"http://{host}:{port}",
                url,
                headless,
                chromium.mitmproxy_ca_spki(),
            )
    except (OSError, subprocess.CalledProcessError) as e:
        shutil.rmtree(profile, ignore_errors=True)
        print(f"cors-inspector: cannot prepare the browser profile: {e}", file=sys.stderr)
        return 2
    print(
        f"cors-inspector: starting {Path(executable).name} through the proxy at "
        f"{host}:{port} (throwaway profile {profile})",
        file=sys.stderr,
    )
    # Its own process group, so that stopping this command stops every browser process.
    process = subprocess.Popen(
        arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)
