"""Run mitmproxy in this process with the cors-inspector addon."""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import sys
from dataclasses import dataclass, replace

from mitmproxy import exceptions, options
from mitmproxy.tools.dump import DumpMaster

from ..engine.origins import is_loopback
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
    print_lines: bool = False  # a line per decision on stdout: `proxy` only, never the TUI


AUTH_USER = "cors-inspector"


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


class ProxyStartError(Exception):
    """The proxy cannot start (a file it cannot write, a port in use): one line."""


def make_master(settings: ProxySettings, addon: CorsInspector) -> DumpMaster:
    """mitmproxy with the addon, configured; ProxyStartError when an option is refused."""
    opts = options.Options(listen_host=settings.listen_host, listen_port=settings.listen_port)
    master = DumpMaster(opts, with_termlog=True, with_dumper=False)
    if settings.proxy_auth:  # before the addon comes: it warns about a listener without one
        opts.update(proxyauth=settings.proxy_auth)
    master.addons.add(addon)
    try:
        opts.update(
            termlog_verbosity="warn",
            cors_log=settings.log,
            cors_save=settings.save,
            cors_redact=settings.redact,
            cors_only=settings.cors_only,
            cors_print="on" if settings.print_lines else "off",
        )
    except exceptions.OptionsError as error:
        raise ProxyStartError(str(error)) from None
    return master


class _Refusals(logging.Filter):
    """What mitmproxy logs when it cannot listen: kept for one line of our own."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        self.messages.append(record.getMessage())
        return False


async def listen(master: DumpMaster) -> None:
    """Open the listening socket before anything says the proxy is up (`master.run` finds
    it open); ProxyStartError when it cannot be (mitmproxy's own message suggests a --mode
    option this command does not have)."""
    proxyserver = master.addons.get("proxyserver")
    refusals = _Refusals()
    server_log = logging.getLogger(type(proxyserver).__module__)
    server_log.addFilter(refusals)
    try:
        listening = await proxyserver.setup_servers()
    finally:
        server_log.removeFilter(refusals)
    if not listening:
        # "[Errno 98] HTTP(S) proxy failed to listen on ... with [Errno 98] ...: address
        # already in use\nTry specifying ... --mode ...": the reason is at the end of line one.
        first = refusals.messages[0].splitlines()[0] if refusals.messages else "unknown error"
        why = first.rsplit(": ", 1)[-1]
        hint = "; choose another port with --listen-port" if "in use" in why else ""
        where = f"{master.options.listen_host or '*'}:{master.options.listen_port}"
        raise ProxyStartError(f"cannot listen on {where}: {why}{hint}")


def stop_on_signals(master: DumpMaster) -> None:
    """SIGTERM and SIGINT (Ctrl-C) stop the proxy cleanly: every flow whose response went out
    is judged and written before the process ends."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, master.shutdown)


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


def run_proxy(settings: ProxySettings, companion: Companion | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C; one coloured line per CORS request. ProxyStartError
    when it cannot start."""
    warn_if_exposed(settings.listen_host)
    if told := require_auth(settings):
        print(told, file=sys.stderr, flush=True)
    addon = CorsInspector(companion=companion)

    async def serve() -> None:
        master = make_master(replace(settings, print_lines=True), addon)
        await listen(master)
        stop_on_signals(master)
        print(
            f"cors-inspector: proxy on http://{settings.listen_host}:{settings.listen_port} "
            "(point the browser at it, or run `cors-inspector browser`; Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
        await master.run()
        # asyncio.run now cancels the connections still open; each would log a traceback.
        asyncio.get_running_loop().set_exception_handler(_quiet_cancellations)

    try:
        asyncio.run(serve())
    finally:
        addon.close()  # last: connections still ending after `done` deliver their flows
    if addon.internal_errors:
        print(
            f"cors-inspector: {addon.internal_errors} internal errors (traffic unaffected); "
            "see the log above",
            file=sys.stderr,
        )
    return 0
