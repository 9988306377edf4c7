"""Run mitmproxy in this process with the cors-inspector addon."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import sys
from dataclasses import dataclass, replace

from mitmproxy import options
from mitmproxy.tools.dump import DumpMaster

from .addon import CorsInspector


@dataclass
class ProxySettings:
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    log: str = ""
    save: str = ""
    redact: bool = True
    cors_only: bool = True
    print_lines: bool = False  # a line per decision on stdout: `proxy` only, never the TUI


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
            "this address can use the proxy and see the traffic, cookies and tokens through "
            "it. Use --listen-host 127.0.0.1 unless you mean it.\x1b[0m",
            file=sys.stderr,
        )


def make_master(settings: ProxySettings, addon: CorsInspector) -> DumpMaster:
    opts = options.Options(listen_host=settings.listen_host, listen_port=settings.listen_port)
    master = DumpMaster(opts, with_termlog=True, with_dumper=False)
    master.addons.add(addon)
    opts.update(
        termlog_verbosity="warn",
        cors_log=settings.log,
        cors_save=settings.save,
        cors_redact=settings.redact,
        cors_only=settings.cors_only,
        cors_print="on" if settings.print_lines else "off",
    )
    return master


def run_proxy(settings: ProxySettings) -> int:
    """Serve until interrupted; one coloured line per CORS request."""
    warn_if_exposed(settings.listen_host)
    addon = CorsInspector()

    async def serve() -> None:
        master = make_master(replace(settings, print_lines=True), addon)
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
