"""The fix suggester: merged, minimal, never insecure, and proven by the real Starlette."""

import starlette
import starlette.middleware.cors

from cors_inspector.engine import Analyzer
from cors_inspector.fix import group_by_backend, suggest, verify
from cors_inspector.fix.config import CorsConfig

from .builders import API, PAGE, cors_get, exchange, preflight

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
# What Starlette answers for allow_headers=[...]: the list, plus the four it always allows.
STARLETTE_LISTED = "Accept, Accept-Language, Content-Language, Content-Type"


def suggestion_for(*exchanges):
    backends = group_by_backend(Analyzer().run(exchanges))
    return suggest(backends[API])


def test_missing_middleware_gets_a_minimal_verified_config():
    s = suggestion_for(
        preflight("PUT", {"Allow": "GET"}, status=405, request_headers="authorization", at=1),
        cors_get({}, url=f"{API}/list", at=2),
    )
    assert s.current is None
    assert s.config.kwargs() == {
        "allow_origins": [PAGE],
        "allow_methods": ["GET", "PUT"],
        "allow_headers": ["Authorization"],
    }
    assert s.verification.ok
    assert s.verification.starlette_version == starlette.__version__
    assert [found.code for _, found in s.lookalikes] == ["no-cors-middleware"]


def test_merges_everything_seen_for_the_backend_and_keeps_what_works():
    other = "http://localhost:5173"
    s = suggestion_for(
        preflight(
            "DELETE",
            {ACAO: PAGE, ACAM: "GET, PUT", ACAH: f"{STARLETTE_LISTED}, X-Token"},
            status=200,
            request_headers="x-token",
            at=1,
        ),
        cors_get({ACAO: PAGE}, origin=other, url=f"{API}/a", at=2),
    )
    config = s.config
    assert config.allow_origins == [PAGE, other]
    assert config.allow_methods == ["GET", "PUT", "DELETE"]
    assert config.allow_headers == ["X-Token"]
    assert s.verification.ok


def test_credentials_never_with_wildcard():
    s = suggestion_for(cors_get({ACAO: "*"}, cookie=True))
    assert s.config.allow_credentials is True
    assert s.config.allow_origins == [PAGE]
    assert '"*"' not in s.config.to_python()
    assert s.verification.ok


def test_wildcard_kept_when_nothing_needs_credentials():
    s = suggestion_for(
        preflight("PUT", {ACAO: "*", ACAM: "GET"}, at=1),
        cors_get({ACAO: "*"}, url=f"{API}/b", at=2),
    )
    assert s.config.allow_origins == ["*"]
    assert s.config.allow_methods == ["GET", "PUT"]


def test_lower_case_patch_is_fixed_in_the_page_and_verified_as_patch():
    s = suggestion_for(preflight("patch", {ACAO: PAGE, ACAM: "GET"}))
    assert "PATCH" in s.config.allow_methods and "patch" not in s.config.allow_methods
    (found,) = [found for _, found in s.lookalikes if found.code == "method-case"]
    assert "Write `PATCH`" in found.fix
    assert found.cors_change_helps  # the server must allow PATCH too
    assert s.verification.ok
    assert s.verification.checks[0].method == "PATCH"


def test_lower_case_patch_already_allowed_is_only_a_page_fix():
    s = suggestion_for(preflight("patch", {ACAO: PAGE, ACAM: "GET, PATCH"}))
    (found,) = [found for _, found in s.lookalikes if found.code == "method-case"]
    assert not found.cors_change_helps
    assert s.uncovered


def test_several_subdomains_become_an_anchored_escaped_regex():
    s = suggestion_for(
        cors_get({}, origin="https://a.example.com", at=1),
        cors_get({}, origin="https://b.example.com", at=2),
    )
    assert s.config.allow_origin_regex == r"^https://[a-z0-9-]+\.example\.com$"
    assert s.config.allow_origins == []
    assert s.verification.ok


def test_null_origin_is_named_and_never_allowed():
    s = suggestion_for(cors_get({}, origin="null"))
    assert [found.code for _, found in s.lookalikes] == ["null-origin"]
    assert "null" not in s.config.allow_origins
    assert s.uncovered and not s.verification.checks


def test_server_error_is_not_a_cors_setting():
    s = suggestion_for(
        cors_get({ACAO: PAGE}, url=f"{API}/ok", at=1),
        cors_get({}, status=500, url=f"{API}/boom", at=2),
    )
    codes = {found.code: found for _, found in s.lookalikes}
    assert not codes["server-error"].cors_change_helps
    assert "server log" in codes["server-error"].fix


def test_duplicate_allow_origin_and_redirect_on_preflight():
    s = suggestion_for(
        cors_get([(ACAO, PAGE), (ACAO, PAGE)], url=f"{API}/dup", at=1),
        preflight("PUT", {"Location": f"{API}/items/"}, status=307, at=2),
    )
    codes = sorted(found.code for _, found in s.lookalikes)
    assert codes == ["duplicate-allow-origin", "preflight-redirect"]


def test_auth_before_cors_and_starlette_400_name_the_setting():
    rejected = preflight("DELETE", {ACAO: PAGE, ACAM: "GET"}, status=400, at=2)
    rejected.response.body_head = "Disallowed CORS method"
    s = suggestion_for(preflight("PUT", {}, status=401, at=1), rejected)
    found = {f.code: f for _, f in s.lookalikes}
    assert "middleware" in found["auth-before-cors"].fix
    assert "allow_methods" in found["starlette-rejected"].fix
    assert s.verification.ok


def test_too_narrow_config_says_exactly_what_still_fails():
    backends = group_by_backend(
        Analyzer().run(
            [
                preflight("PUT", {}, status=405, request_headers="x-token", at=1),
            ]
        )
    )
    (backend,) = backends.values()
    narrow = CorsConfig(allow_origins=[PAGE], allow_methods=["GET", "PUT"])
    result = verify(narrow, backend.observations)
    assert not result.ok
    failure = result.failures[0].failure
    assert failure.reason == "PreflightInvalidStatus"  # Starlette's 400, with ACAO


def test_risky_policies_are_flagged():
    s = suggestion_for(
        cors_get({ACAO: "null", ACAC: "true"}, origin="null", cookie=True, at=1),
        exchange(
            "GET",
            f"{API}/c",
            {"Origin": PAGE, "Sec-Fetch-Mode": "cors"},
            200,
            {ACAO: "*", "Set-Cookie": "a=b"},
            at=2,
        ),
    )
    titles = [risk.title for risk in s.risks]
    assert any("`null`" in title for title in titles)
    assert any("sets a cookie" in title for title in titles)


def test_config_renders_lists_never_strings():
    config = CorsConfig(allow_origins=["http://a.test"], allow_origin_regex=r"^https://x\.y$")
    assert config.to_python() == (
        "app.add_middleware(\n"
        "    CORSMiddleware,\n"
        '    allow_origins=["http://a.test"],\n'
        '    allow_origin_regex=r"^https://x\\.y$",\n'
        ")"
    )


def test_a_server_on_every_method_and_header_keeps_its_stars():
    # What Starlette answers for allow_methods=["*"], allow_headers=["*"]: every method of
    # its version, and the requested headers echoed.
    every = ", ".join(starlette.middleware.cors.ALL_METHODS)
    s = suggestion_for(
        preflight("PUT", {ACAM: every, ACAH: "x-token"}, status=400, request_headers="x-token"),
    )
    assert s.current.allow_methods == ["*"] and s.current.allow_headers == ["*"]
    assert s.config.allow_methods == ["*"] and s.config.allow_headers == ["*"]
    assert "QUERY" not in s.to_python()
    assert s.verification.ok


def test_a_listed_header_set_is_not_mistaken_for_an_echo():
    s = suggestion_for(
        preflight(
            "PUT",
            {ACAO: PAGE, ACAM: "GET", ACAH: f"{STARLETTE_LISTED}, X-Token"},
            request_headers="x-token",
            at=1,
        ),
        preflight("PUT", {ACAO: PAGE, ACAM: "GET"}, request_headers="x-other", at=2),
    )
    assert s.config.allow_headers == ["X-Other", "X-Token"]
    assert s.config.allow_methods == ["GET", "PUT"]


def test_hidden_headers_are_offered_commented_out_never_exposed():
    s = suggestion_for(
        cors_get({"X-Total-Count": "5", "Date": "today"}, url=f"{API}/a", at=1),
    )
    assert s.config.expose_headers == []
    assert s.hidden_headers == ["X-Total-Count"]  # `Date`: no page reads it
    code = s.to_python()
    assert code.startswith("from starlette.middleware.cors import CORSMiddleware\n\n")
    assert '    # expose_headers=["X-Total-Count"],  # uncomment if the page reads it\n)' in code
    assert s.exposing_verified  # uncommented, Starlette lets script read it
    assert s.verification.ok


def test_no_suggestion_equal_to_now_is_printed():
    import io

    from rich.console import Console

    from cors_inspector.output.fix import print_fix

    s = suggestion_for(preflight("patch", {ACAO: PAGE, ACAM: "GET, PATCH"}))
    assert not s.changed
    out = io.StringIO()
    print_fix(Console(file=out, width=100), s)
    assert "Now, as the responses show it:" in out.getvalue()
    assert "Suggested: no change to CORSMiddleware" in out.getvalue()
    assert out.getvalue().count("app.add_middleware(") == 1
