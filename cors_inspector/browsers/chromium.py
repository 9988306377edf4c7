"""Chromium or Chrome with a throwaway profile, pointed at the proxy (browsers/launch.py runs it).

The profile sends loopback traffic through the proxy too (Chromium bypasses the proxy for
localhost otherwise) and accepts mitmproxy's certificate authority for this profile only
(`--ignore-certificate-errors-spki-list`), so nothing is installed system-wide.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
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


def find_browser() -> str | None:
    for candidate in CANDIDATES:
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return found
    return None


def mitmproxy_ca_pem(confdir: Path = CONFDIR) -> Path:
    """mitmproxy's CA certificate, creating the CA if needed."""
    CertStore.from_store(confdir, "mitmproxy", 2048)
    return confdir / "mitmproxy-ca-cert.pem"


def mitmproxy_ca_spki(confdir: Path = CONFDIR) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of mitmproxy's CA, creating the CA if needed."""
    pem = mitmproxy_ca_pem(confdir).read_bytes()
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
