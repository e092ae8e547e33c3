"""Security headers (等保 2.0): a Content-Security-Policy of the app's own origin with a
nonce per response for inline scripts, no framing, nosniff, a strict referrer policy; no
page carries an inline event handler or a javascript: address (the policy would refuse
them), and every inline script carries the response's nonce."""
from __future__ import annotations

import re

from tests.test_i18n import _pages

_INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def _policy(response) -> dict:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_every_page_has_the_headers(client, as_user):
    for c, url in ((client, "/login/"), (as_user("worker"), "/"), (as_user("worker"), "/dashboard/"),
                   (client, "/public/stars/"), (as_user("worker"), "/api/v1/demand/")):
        response = c.get(url)
        assert response.status_code == 200, url
        policy = _policy(response)
        assert policy["default-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"]
        assert [s for s in policy["script-src"] if not s.startswith("'nonce-")] == ["'self'"]
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        assert not any("http" in s or "*" in s for values in policy.values() for s in values)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_inline_scripts_carry_the_nonce_of_their_response(as_user):
    worker = as_user("worker")
    first, second = worker.get("/dashboard/"), worker.get("/dashboard/")
    nonces = [next(s for s in _policy(r)["script-src"] if s.startswith("'nonce-"))[7:-1] for r in (first, second)]
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 20
    scripts = _SCRIPT.findall(first.get_data(as_text=True))
    assert scripts
    for attributes, body in scripts:
        if "src=" in attributes:
            continue  # files of this server: allowed by 'self'
        assert f'nonce="{nonces[0]}"' in attributes, attributes


def test_no_page_has_inline_handlers_or_javascript_addresses(app, ctx, as_user):
    urls = {"worker": ["/dashboard/", "/dashboard/screen", "/service-rates/", "/notifications/"]}
    for username, more in _pages(app).items():
        urls.setdefault(username, []).extend(more)
    problems = {}
    for username, pages in urls.items():
        client = as_user(username)
        for url in pages:
            page = client.get(url).get_data(as_text=True)
            found = _INLINE_HANDLER.findall(page) + re.findall(r"""href=["']javascript:""", page, re.I)
            if found:
                problems[url] = found[:3]
    for url in ("/public/stars/", "/public/policies/", "/login/"):
        page = app.test_client().get(url).get_data(as_text=True)
        if _INLINE_HANDLER.search(page) or "javascript:" in page:
            problems[url] = _INLINE_HANDLER.findall(page)[:3]
    assert not problems, problems
