"""The credentials mode of a request, as far as the wire shows it (it is never sent as such)."""

from __future__ import annotations

from .decision import Credentials
from .exchange import Exchange


def credentials_of(
    exchange: Exchange, preflighted_headers: list[str] | None = None
) -> tuple[Credentials, str]:
    """The credentials mode: the browser's own record where there is one (Chrome's NetLog),
    else as far as the wire shows it ("omit" when nothing shows "include")."""
    if exchange.credentials is not None:
        return exchange.credentials, exchange.credentials_basis or "the browser's own record"
    headers = exchange.request.headers
    if "cookie" in headers:
        return "include", "inferred: the request carries a Cookie header"
    if (
        "authorization" in headers
        and preflighted_headers is not None
        and "authorization" not in preflighted_headers
    ):
        # A page's own Authorization is always preflighted; one its preflight did not ask
        # for was added by the browser: HTTP authentication, sent only with credentials.
        return "include", "inferred: the browser added HTTP authentication (Authorization)"
    if "sec-fetch-storage-access" in headers:
        # Storage Access Headers: sent only on cross-site requests whose mode is 'include'.
        return "include", "inferred: the browser sent Sec-Fetch-Storage-Access, which it adds "
        "only to cross-site requests made with credentials"
    return "omit", "inferred: the request carries no Cookie header"
