"""`cors-inspector browser --firefox`: Firefox with a throwaway profile, pointed at the proxy.

The profile's prefs send everything through the proxy, loopback included (Firefox bypasses a
proxy for localhost unless `network.proxy.allow_hijacking_localhost` is set), and mitmproxy's
certificate authority is added to that profile's own NSS database with `certutil` (Debian's
libnss3-tools), so nothing is trusted outside it. The profile is removed afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

CANDIDATES = (
    "firefox-esr",
    "firefox",
    "/Applications/Firefox.app/Contents/MacOS/firefox",
)


def find_firefox() -> str | None:
    for candidate in CANDIDATES:
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return found
    return None


def proxy_prefs(host: str, port: int) -> dict[str, object]:
    """Everything through the HTTP proxy at host:port, loopback included, nothing around it."""
    return {
        "network.proxy.type": 1,  # manual
        "network.proxy.http": host,
        "network.proxy.http_port": port,
        "network.proxy.ssl": host,
        "network.proxy.ssl_port": port,
        "network.proxy.share_proxy_settings": True,
        # netwerk/base/nsProtocolProxyService.cpp: loopback bypasses the proxy without these.
        "network.proxy.allow_hijacking_localhost": True,
        "network.proxy.no_proxies_on": "",
        "network.http.http3.enable": False,  # HTTP/3 would go around an HTTP proxy
        "network.dns.disablePrefetch": True,
        "network.prefetch-next": False,
        "network.http.speculative-parallel-limit": 0,
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
        "browser.safebrowsing.malware.enabled": False,
        "browser.safebrowsing.phishing.enabled": False,
        "browser.safebrowsing.downloads.enabled": False,
        "browser.safebrowsing.update.enabled": False,
        "app.update.enabled": False,
        "app.normandy.enabled": False,
        "extensions.update.enabled": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "toolkit.telemetry.enabled": False,
        "browser.shell.checkDefaultBrowser": False,
        "browser.startup.homepage_override.mstone": "ignore",
        "browser.aboutwelcome.enabled": False,
        "browser.newtabpage.enabled": False,
        "browser.startup.page": 0,
    }


def write_profile(profile: Path, host: str, port: int) -> None:
    """A fresh profile directory whose user.js sends everything through the proxy."""
    profile.mkdir(parents=True, exist_ok=True)
    lines = [
        f"user_pref({json.dumps(name)}, {json.dumps(value)});"
        for name, value in proxy_prefs(host, port).items()
    ]
    (profile / "user.js").write_text("\n".join(lines) + "\n")


def trust_ca(profile: Path, ca_pem: Path) -> None:
    """Trust ``ca_pem`` for web sites in this profile's NSS database only (certutil)."""
    certutil = shutil.which("certutil")
    if certutil is None:
        raise FileNotFoundError(
            "certutil not found: install the NSS tools (apt-get install libnss3-tools) so "
            "the profile can trust mitmproxy's certificate authority"
        )
    database = f"sql:{profile}"
    run = {"check": True, "capture_output": True}
    subprocess.run([certutil, "-N", "-d", database, "--empty-password"], **run)  # type: ignore[call-overload]
    subprocess.run(  # type: ignore[call-overload]
        [certutil, "-A", "-d", database, "-n", "mitmproxy", "-t", "C,,", "-i", str(ca_pem)], **run
    )


def firefox_arguments(executable: str, profile: Path, url: str, headless: bool) -> list[str]:
    arguments = [executable, "--profile", str(profile), "--no-remote", "--new-instance"]
    if headless:
        arguments.append("--headless")
    return [*arguments, url]
