"""The help texts: what each command is for, with examples and its exit statuses."""

DESCRIPTION = """\
See why the browser blocked a cross-origin request.

cors-inspector rebuilds Chromium's CORS decision for every request in a capture, step by
step as the WHATWG Fetch standard runs it, and says in plain words what failed and why.
"""

MAIN_EPILOG = """\
examples:
  cors-inspector                               the TUI over a live proxy on 127.0.0.1:8080
  cors-inspector --listen-port 9090 --save flows.mitm
  cors-inspector browser http://localhost:3000 in another terminal: a browser through it
  cors-inspector open flows.mitm session.har   the TUI over saved captures
  cors-inspector analyze flows.mitm            a report in the terminal, no TUI
  cors-inspector fix flows.mitm                the verified CORSMiddleware change

Without a command, cors-inspector runs the proxy with the TUI: every request through it
appears as the browser judged it (Enter: why; f: the fix; ?: all keys). The options above
(--listen-host ... --all) are the proxy command's. `cors-inspector COMMAND --help` for more.
"""

OPEN_EPILOG = """\
examples:
  cors-inspector open flows.mitm               a mitmproxy capture
  cors-inspector open session.har --keep 10000 a HAR; keep only the newest 10000 requests
  cors-inspector open <(zcat flows.mitm.gz)    a FIFO or a process substitution

The TUI reads its keys from the terminal, so standard input (-) is not a capture here.

Enter shows why a request was allowed or blocked, f the verified fix; ? lists every key.
"""

ANALYZE_EPILOG = """\
examples:
  cors-inspector analyze                       analyse the bundled sample capture
  cors-inspector analyze flows.mitm            a mitmproxy capture (mitmdump -w flows.mitm)
  cors-inspector analyze session.har           a HAR exported from Chrome or Firefox DevTools
  cors-inspector analyze a.mitm b.har --only blocked
  cors-inspector analyze flows.mitm --format jsonl > decisions.jsonl
  cat flows.mitm | cors-inspector analyze -    from standard input (pipes and FIFOs too)

Files are recognised by their content, not their name. Requests are judged in capture
order: a preflight is paired with the actual request it served.

exit status: 0 nothing blocked, 1 something blocked, 2 an input could not be read
(what could be read is still reported).
"""


FIX_EPILOG = """\
examples:
  cors-inspector fix flows.mitm                       every backend that blocked something
  cors-inspector fix flows.mitm --backend http://localhost:8000
  cors-inspector fix a.mitm b.har --format json
  cat flows.mitm | cors-inspector fix -               from standard input

For each backend origin, the smallest app.add_middleware(CORSMiddleware, ...) that makes
every blocked request pass, merged across everything seen for that backend. Before it is
shown, the real Starlette CORSMiddleware runs with it on every captured request to that
backend, and the engine judges its answers. Errors no CORS setting can fix (a 500 without
CORS headers, a redirect on a preflight, Origin null, ...) are named for what they are.

exit status: 0 every suggested fix is verified, 1 a fix still leaves requests blocked or a
blocked request needs a non-CORS fix, 2 an input could not be read.
"""


PROXY_EPILOG = """\
examples:
  cors-inspector proxy                                 listen on 127.0.0.1:8080
  cors-inspector proxy --log decisions.jsonl --save flows.mitm
  cors-inspector browser http://localhost:3000         in another terminal
  cors-inspector proxy --with-browser --url http://localhost:3000
  cors-inspector proxy --with-browser --firefox --headless --url http://localhost:3000

--with-browser starts a throwaway Chromium attached over its DevTools pipe; with --firefox,
Firefox (firefox-esr) attached over WebDriver BiDi: the records get the browser's own
verdict and reason (Firefox's from its console line), and the requests it never sent.

The same addon runs under mitmproxy's own tools:
  mitmdump -s addons/cors_inspector.py --set cors_log=decisions.jsonl
"""


BROWSER_EPILOG = """\
examples:
  cors-inspector                                   terminal 1: the proxy and the TUI
  cors-inspector browser http://localhost:3000     terminal 2: your page, through the proxy
  cors-inspector browser --proxy-port 9090 http://localhost:5173
  cors-inspector browser --firefox http://localhost:3000

Chromium or Chrome is looked up on the PATH (and in /Applications on macOS); with --firefox,
or when neither is installed, Firefox (firefox-esr or firefox; mitmproxy's certificate is
added to its profile with certutil, from Debian's libnss3-tools). The profile is deleted
when the browser exits. Without any of them, it says how to install one.

Attached: a cors-inspector proxy (cors-inspector, cors-inspector proxy) writes a file only you
can read, named by its port, holding a random token and the loopback port where it takes
browser reports. With that file, the Chromium this command starts is attached over its
DevTools pipe and its Network events are sent to that proxy, token first: the proxy's
records and TUI get the browser's verdict and reason, the script line of each call and the
requests it never sent. Firefox is attached over WebDriver BiDi the same way (its verdict
and reason from its console lines; Firefox names no script line). Reports only: nothing is
intercepted or run in the page. Without the file (another proxy), the browser starts as it
always did.
"""


REPLAY_EPILOG = """\
examples:
  cors-inspector replay flows.mitm --to http://localhost:8000
  cors-inspector replay flows.mitm --to http://localhost:8000 --only blocked
  cors-inspector replay flows.mitm --to http://localhost:8000 --header "Authorization: Bearer x"
  cat flows.mitm | cors-inspector replay - --to http://localhost:8000

Each captured cross-origin request is re-sent as the browser would send it: the preflight
first when one is needed, then (if it passes) the actual request with the captured Origin,
method, headers and body, to the same path and query on --to. Header values redacted in the
capture are left out unless you supply them with --header; redacted query values are sent as
[redacted] (a note says so). The answers are judged as Chromium would.

exit status: 0 nothing is blocked now, 1 something is blocked (or got no answer), 2 the
capture could not be read or the request selection is ambiguous.
"""
