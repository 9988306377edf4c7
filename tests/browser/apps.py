"""Real FastAPI apps, each configured the way a tutorial in /work/shared/seeds configures CORS.

Usage: ``python -m tests.browser.apps NAME PORT`` serves app NAME under uvicorn on
127.0.0.1:PORT.  ``FRONTEND_ORIGIN`` is the page origin the apps trust, read from the
environment as the "environment-based configuration" tutorial does
(default ``http://localhost:3000``, the React dev server).

``CORS_CONFIG``, when set, is the JSON object of CORSMiddleware keyword arguments every app
uses instead of its own (cors-inspector's suggested fix, ``CorsConfig.kwargs()``), with the
middleware placed as a correct app has it: outermost (added last).  ``no_cors`` then gets
one, and ``auth_outside_cors`` gets it outside its auth middleware.  Unset, every app is
configured exactly as its tutorial has it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel

FRONTEND = os.environ.get("FRONTEND_ORIGIN", "http://localhost:3000")


def cors_config() -> dict[str, Any] | None:
    """The CORSMiddleware kwargs given from outside (``CORS_CONFIG``), or None."""
    given = os.environ.get("CORS_CONFIG")
    if not given:
        return None
    kwargs = json.loads(given)
    if not isinstance(kwargs, dict):
        raise SystemExit(f"CORS_CONFIG must be a JSON object of keyword arguments: {given}")
    return kwargs


def add_cors(app: FastAPI, **tutorial: Any) -> None:
    """``app.add_middleware(CORSMiddleware, **tutorial)``, or with ``CORS_CONFIG`` if set."""
    override = cors_config()
    app.add_middleware(CORSMiddleware, **(tutorial if override is None else override))


class Item(BaseModel):
    name: str
    description: str | None = None


def items_api() -> FastAPI:
    """The CRUD routes of the tutorials, plus response headers for the expose tests."""
    app = FastAPI()
    items = {1: Item(name="first"), 2: Item(name="second")}

    @app.get("/api/items")
    def list_items(response: Response) -> list[Item]:
        response.headers["X-Total-Count"] = str(len(items))
        response.headers["X-Custom-Header"] = "custom"
        response.headers["X-Secret"] = "not-exposed"
        return list(items.values())

    @app.post("/api/items")
    def create_item(item: Item) -> Item:
        items[len(items) + 1] = item
        return item

    @app.get("/api/items/{item_id}")
    def read_item(item_id: int) -> Item:
        if item_id not in items:
            raise HTTPException(status_code=404, detail="Item not found")
        return items[item_id]

    @app.put("/api/items/{item_id}")
    @app.patch("/api/items/{item_id}")
    def update_item(item_id: int, item: Item) -> Item:
        items[item_id] = item
        return item

    @app.delete("/api/items/{item_id}")
    def delete_item(item_id: int) -> dict[str, str]:
        items.pop(item_id, None)
        return {"detail": "Item deleted"}

    @app.get("/api/me")
    def me(request: Request) -> dict[str, bool]:
        return {"has_session_cookie": "sid" in request.cookies}

    # Called as /items, these answer 307 -> /items/ (FastAPI's redirect_slashes).
    @app.get("/items/")
    def list_slash_items() -> list[Item]:
        return list(items.values())

    @app.post("/items/")
    def create_slash_item(item: Item) -> Item:
        return item

    return app


def exact() -> FastAPI:
    """The React + FastAPI tutorial: one dev origin, credentials, everything else '*'."""
    app = items_api()
    add_cors(
        app,
        allow_origins=[FRONTEND],
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    return app


def wildcard() -> FastAPI:
    """'Allowing all origins (development only)'."""
    app = items_api()
    add_cors(app, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    return app


def wildcard_credentials() -> FastAPI:
    """'*' plus allow_credentials=True, the combination the tutorials warn about."""
    app = items_api()
    add_cors(
        app,
        allow_origins=["*"],
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    return app


def regex() -> FastAPI:
    """allow_origin_regex for any localhost port (fullmatch: 127.0.0.1 does not match)."""
    app = items_api()
    add_cors(
        app,
        allow_origin_regex=r"http://localhost:\d+",
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    return app


def defaults() -> FastAPI:
    """Only allow_origins: allow_methods defaults to GET, allow_headers to none."""
    app = items_api()
    add_cors(app, allow_origins=[FRONTEND])
    return app


def complete() -> FastAPI:
    """The tutorial's 'complete example with all options'."""
    app = items_api()
    add_cors(
        app,
        allow_origins=[FRONTEND, "https://myapp.com"],
        allow_origin_regex=r"https://.*\.myapp\.com",
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Content-Type", "Authorization", "X-Custom-Header"],
        allow_credentials=True,
        expose_headers=["Content-Length", "X-Custom-Header"],
        max_age=600,
    )
    return app


def no_authorization_header() -> FastAPI:
    """allow_headers lists a custom header but forgets Authorization."""
    app = items_api()
    add_cors(
        app,
        allow_origins=[FRONTEND],
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["Content-Type", "X-Custom-Header"],
    )
    return app


def expose() -> FastAPI:
    """expose_headers=["X-Total-Count"] so the page can read the pagination header."""
    app = items_api()
    add_cors(
        app,
        allow_origins=[FRONTEND],
        allow_credentials=True,
        expose_headers=["X-Total-Count"],
    )
    return app


def expose_star() -> FastAPI:
    """expose_headers=['*']: a wildcard only for requests without credentials."""
    app = items_api()
    add_cors(app, allow_origins=[FRONTEND], allow_credentials=True, expose_headers=["*"])
    return app


def max_age_zero() -> FastAPI:
    """max_age=0: every preflighted request is preflighted again."""
    app = items_api()
    add_cors(app, allow_origins=[FRONTEND], allow_methods=["*"], max_age=0)
    return app


def raises() -> FastAPI:
    """A route that raises: ServerErrorMiddleware's 500 sits outside CORS, so no ACAO,
    while the CRUD routes next to it answer with CORS headers.

    uvicorn closes the connection after it, so each case using this app gets its own
    uvicorn process (no later request may ride the closed connection).
    """
    app = items_api()

    @app.api_route("/api/boom", methods=["GET", "PUT"])
    def boom() -> None:
        raise RuntimeError("database is down")

    add_cors(app, allow_origins=[FRONTEND], allow_methods=["*"], allow_headers=["*"])
    return app


def no_cors() -> FastAPI:
    """No CORSMiddleware at all: OPTIONS reaches routing (405, or 307 from redirect_slashes).

    With ``CORS_CONFIG`` set, the fix: a CORSMiddleware with that configuration.
    """
    app = items_api()
    if (override := cors_config()) is not None:
        app.add_middleware(CORSMiddleware, **override)
    return app


def auth_outside_cors() -> FastAPI:
    """An auth middleware added after CORSMiddleware, hence outermost: it 401s preflights.

    With ``CORS_CONFIG`` set, the fix's meaning is "CORS outermost": CORSMiddleware is added
    last, after the auth middleware, with that configuration.
    """
    app = items_api()
    override = cors_config()
    if override is None:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[FRONTEND],
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )

    @app.middleware("http")
    async def require_auth(request: Request, call_next: Callable) -> Response:
        if "authorization" not in request.headers and "sid" not in request.cookies:
            return JSONResponse({"detail": "Not authenticated"}, status_code=401)
        return await call_next(request)

    if override is not None:
        app.add_middleware(CORSMiddleware, **override)
    return app


def hardcoded_origin() -> FastAPI:
    """The tutorial's origin typed in literally, while the page is served from another port."""
    app = items_api()
    add_cors(
        app,
        allow_origins=["http://localhost:3000"],
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    return app


def trailing_slash() -> FastAPI:
    """The origin pasted from the address bar, with its trailing slash."""
    app = items_api()
    add_cors(
        app,
        allow_origins=[FRONTEND + "/"],
        allow_methods=["*"],
        allow_headers=["*"],
    )
    return app


APPS: dict[str, Callable[[], FastAPI]] = {
    factory.__name__: factory
    for factory in (
        exact,
        wildcard,
        wildcard_credentials,
        regex,
        defaults,
        complete,
        no_authorization_header,
        expose,
        expose_star,
        max_age_zero,
        raises,
        no_cors,
        auth_outside_cors,
        hardcoded_origin,
        trailing_slash,
    )
}


if __name__ == "__main__":
    name, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(APPS[name](), host="127.0.0.1", port=port, log_level="warning")
