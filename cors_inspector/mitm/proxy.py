"""Run mitmproxy in this process with the cors-inspector addon."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import sys
from dataclasses import dataclass

from mitmproxy import options
from mitmproxy.tools.dump import DumpMaster

from .addon import Companion, CorsInspector


@dataclass
class ProxySettings:
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    log: str = ""
    save: str = ""
    redact: bool = True
    cors_only: bool = True
    proxy_auth: str = ""  # USER:PASS, mitmproxy's `proxyauth`; required beyond loopback


AUTH_USER = "cors-inspector"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warn_if_exposed(host: str) -> None:
    if not is_loopback(host):
        print(
            f"\x1b[1;31mWARNING: listening on {host or 'all interfaces'}: anyone who can reach "
            "this address and has the proxy's password can use the proxy and see the "
            "traffic, cookies and tokens through it. Use --listen-host 127.0.0.1 unless you "
            "mean it.\x1b[0m",
            file=sys.stderr,
        )


def require_auth(settings: ProxySettings) -> str | None:
    """Beyond loopback the proxy would relay anyone anywhere (this machine's loopback-only
    services included): there it asks for a password, the one given or a random one. Returns
    the line that tells the user, once; None on loopback, where nothing is asked (so the
    browser launcher keeps working) unless a password was given."""
    if is_loopback(settings.listen_host):
        return None
    if settings.proxy_auth:
        user = settings.proxy_auth.partition(":")[0]
        return f"cors-inspector: the proxy asks for authentication (user {user})"
    password = secrets.token_urlsafe(12)
    settings.proxy_auth = f"{AUTH_USER}:{password}"
    return (
        f"cors-inspector: the proxy asks for authentication: user {AUTH_USER}, password "
        f"{password} (shown once; choose your own with --proxy-auth USER:PASS)"
    )


def make_master(settings: ProxySettings, addon: CorsInspector) -> DumpMaster:
    opts = options.Options(listen_host=settings.listen_host, listen_port=settings.listen_port)
    master = DumpMaster(opts, with_termlog=True, with_dumper=False)
    if settings.proxy_auth:  # before the addon comes: it warns about a listener without one
        opts.update(proxyauth=settings.proxy_auth)
    master.addons.add(addon)
    opts.update(
        termlog_verbosity="warn",
        cors_log=settings.log,
        cors_save=settings.save,
        cors_redact=settings.redact,
        cors_only=settings.cors_only,
    )
    return master


def run_proxy(settings: ProxySettings, companion: Companion | None = None) -> int:
    """Serve until interrupted; one coloured line per CORS request."""
    warn_if_exposed(settings.listen_host)
    if told := require_auth(settings):
        print(told, file=sys.stderr, flush=True)
    addon = CorsInspector(companion=companion)

    async def serve() -> None:
        master = make_master(settings, addon)
        print(
            f"cors-inspector: proxy on http://{settings.listen_host}:{settings.listen_port} "
            "(point the browser at it, or run `cors-inspector browser`; Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
        await master.run()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    if addon.internal_errors:
        print(
            f"cors-inspector: {addon.internal_errors} internal errors (traffic unaffected); "
            "see the log above",
            file=sys.stderr,
        )
    return 0
