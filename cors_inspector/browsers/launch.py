"""`cors-inspector browser [--firefox]`: a browser with a throwaway profile, pointed at the proxy.

Chromium or Chrome when installed (unless `--firefox`), else Firefox; the profile trusts
mitmproxy's certificate authority for itself only and is removed when the browser exits.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..engine.origins import is_loopback
from . import attach, bidi, chromium, firefox, profiles
from .bridge import AUTO_ATTACH, NetworkEvents, Pairing
from .cdp import CdpPipe

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
    if is_loopback(host):
        info = attach.read_attach_file(port)  # a cors-inspector proxy of ours on that port
        if info is not None:
            attached = run_attached_firefox if is_firefox else run_attached
            status = attached(executable, host, port, url, headless, info)
            if status is not None:
                return status
    profile = profiles.new_profile()
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


def _report_channel(info: attach.AttachInfo, browser: str) -> attach.ReportChannel | None:
    """The channel to the proxy that asked for the browser's reports; None (said) when that
    proxy does not take them: the browser then starts as it would without it."""
    try:
        return attach.ReportChannel(info, browser)
    except (OSError, attach.AttachRefused) as error:
        print(
            f"cors-inspector: the proxy on port {info.proxy_port} did not take the browser's "
            f"reports ({error}): starting the browser unattached",
            file=sys.stderr,
        )
        return None


def _say_attached(
    executable: str, host: str, port: int, over: str, pid: int, profile: Path
) -> None:
    print(
        f"cors-inspector: starting {Path(executable).name} through the proxy at {host}:{port}, "
        f"attached over {over} (pid {pid}): the proxy gets its own verdicts "
        f"(throwaway profile {profile})",
        file=sys.stderr,
        flush=True,
    )


def run_attached_firefox(
    executable: str, host: str, port: int, url: str, headless: bool, info: attach.AttachInfo
) -> int | None:
    """Firefox through the proxy, its WebDriver BiDi events read here (BiDiEvents) and the
    requests they make and settle sent to the proxy that asked for them; None when that
    proxy does not take them."""
    if (channel := _report_channel(info, "firefox")) is None:
        return None
    try:
        browser = bidi.FirefoxProcess(executable, host, port, headless)
    except (OSError, subprocess.CalledProcessError) as error:
        channel.close()
        print(f"cors-inspector: cannot start the browser: {error}", file=sys.stderr)
        return 2
    _say_attached(executable, host, port, "WebDriver BiDi", browser.pid, browser.profile)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        address = browser.address(time.monotonic() + bidi.READY_TIMEOUT_S)
        asyncio.run(bidi.run_session(address, url, attach.RequestReporter(channel)))
    except KeyboardInterrupt:
        return 0
    except bidi.SESSION_ERRORS as error:
        if not browser.exited():
            print(
                f"cors-inspector: the browser's WebDriver BiDi channel failed ({error})",
                file=sys.stderr,
            )
    finally:
        channel.close()
        browser.close()
    return 0


def run_attached(
    executable: str, host: str, port: int, url: str, headless: bool, info: attach.AttachInfo
) -> int | None:
    """Chromium through the proxy, attached over its DevTools pipe, its Network events sent
    to the proxy that asked for them; None when that proxy does not take them."""
    if (channel := _report_channel(info, "chromium")) is None:
        return None
    try:
        pipe = CdpPipe(executable, f"http://{host}:{port}", headless)
    except OSError as error:
        channel.close()
        print(f"cors-inspector: cannot start the browser: {error}", file=sys.stderr)
        return 2
    _say_attached(executable, host, port, "its DevTools pipe", pipe.pid, pipe.profile)
    # Commands to the browser: Network events on for each new target, which may then run,
    # and the first tab opens `url`. Its own pairing stays empty: the proxy's pairs.
    targets = NetworkEvents(Pairing(), pipe.send, url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        pipe.send("Target.setAutoAttach", AUTO_ATTACH)
        for message in pipe.messages():
            if message.get("method") not in attach.FORWARDED:
                targets.handle(message)
            elif channel.open:
                try:
                    channel.send(message)
                except OSError:
                    print(
                        "cors-inspector: the proxy has gone: the browser's reports stop",
                        file=sys.stderr,
                        flush=True,
                    )
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError) as error:  # the DevTools channel failed: stop the browser
        print(f"cors-inspector: the browser's DevTools channel failed ({error})", file=sys.stderr)
    finally:
        channel.close()
        pipe.close()
    return pipe.wait()
