"""`cors-inspector browser`: Chromium or Chrome with a throwaway profile, pointed at the proxy.

The profile sends loopback traffic through the proxy too (Chromium bypasses the proxy for
localhost otherwise) and accepts mitmproxy's certificate authority for this profile only
(`--ignore-certificate-errors-spki-list`), so nothing is installed system-wide.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mitmproxy.certs import CertStore

CANDIDATES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
)
CONFDIR = Path("~/.mitmproxy").expanduser()

FIREFOX_HOWTO = """\
No Chromium or Chrome found. To do the same with Firefox:
  1. Create a throwaway profile: firefox -CreateProfile cors-inspector, then
     firefox -P cors-inspector -no-remote
  2. Settings > Network Settings > Manual proxy: HTTP proxy {host} port {port},
     "Also use this proxy for HTTPS"; in about:config set
     network.proxy.allow_hijacking_localhost = true (so localhost goes through the proxy).
  3. With the proxy running, open http://mitm.it and install mitmproxy's certificate
     for that profile only.
"""


def find_browser() -> str | None:
    for candidate in CANDIDATES:
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return found
    return None


def mitmproxy_ca_spki(confdir: Path = CONFDIR) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of mitmproxy's CA, creating the CA if needed."""
    CertStore.from_store(confdir, "mitmproxy", 2048)
    pem = (confdir / "mitmproxy-ca-cert.pem").read_bytes()
    certificate = x509.load_pem_x509_certificate(pem)
    spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def browser_arguments(
    executable: str, profile: Path, proxy: str, url: str, headless: bool, spki: str
) -> list[str]:
    arguments = [
        executable,
        f"--user-data-dir={profile}",
        f"--proxy-server={proxy}",
        "--proxy-bypass-list=<-loopback>",  # send localhost through the proxy too
        f"--ignore-certificate-errors-spki-list={spki}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",  # HTTP/3 would go around an HTTP proxy
    ]
    if headless:
        arguments += ["--headless", "--no-sandbox", "--disable-gpu"]
    return [*arguments, url]


def run_browser(url: str, host: str, port: int, headless: bool) -> int:
    executable = find_browser()
    if executable is None:
        print(FIREFOX_HOWTO.format(host=host, port=port), file=sys.stderr)
        return 2
    profile = Path(tempfile.mkdtemp(prefix="cors-inspector-profile-"))
    arguments = browser_arguments(
        executable, profile, f"http://{host}:{port}", url, headless, mitmproxy_ca_spki()
    )
    print(
        f"cors-inspector: starting {Path(executable).name} through the proxy at "
        f"{host}:{port} (throwaway profile {profile})",
        file=sys.stderr,
    )
    # Its own process group, so that stopping this command stops every Chromium process.
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
