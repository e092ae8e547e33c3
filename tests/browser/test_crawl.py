"""The whole product, clicked through in Chromium as each role.

For every role's demo account: sign in, then follow the links the pages offer — every
menu entry, every list, add form, show page, chart, print view and the dashboard — each
kind of page once (``/person/show/12`` and ``/person/show/40`` are one kind). The public
pages are crawled without signing in, and the grid worker's pages again at phone width.

A page fails on: an answer ≥ 400 (the page or anything it loads), a console error, a
request to anything but the app's own origin, English words in the visible text of the
zh page (the detector of test_i18n, whose allow-list holds proper nouns, units and data
such as user names), and at phone width a page wider than the screen.

A screenshot of every page is kept in ``test-artifacts/crawl/<role>/`` (JPEG).
"""
from __future__ import annotations

import os
import re
import time
from collections import deque

import pytest

from tests.browser.test_service_loop import _signed_in

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.path.join(ROOT, "test-artifacts", "crawl")
ROLES = ["sysadmin", "secadmin", "auditor", "street", "secretary", "worker", "grid1", "partner", "volunteer",
         "leader"]
# never followed: sign-out and language switches, anything that acts or downloads, the API
_SKIP = re.compile(
    r"^/(logout|lang/|api/|static/|favicon|back$)|/(delete|action|action_post|export|download|reveal|edit|"
    r"template|import|brief\.pdf|file|files|picture|attachment/get)(/|$)|\.(pdf|xlsx|csv|png|jpg|zip)$")
# the kind of a page: ids and tokens are one kind; a tab is its own kind
_ID = re.compile(r"/(\d+|(?=[^/]*[0-9A-Z_])[A-Za-z0-9_-]{16,})(?=/|$)")  # (route names are lower-case words)

_TEXT = """() => {
  const parts = [document.body ? document.body.innerText : ''];
  for (const el of document.querySelectorAll('[placeholder],[title],[aria-label],[alt],input[type=submit],'
                                            + 'input[type=button],button')) {
    if (!el.offsetParent && el.tagName !== 'BODY') continue;  // not shown
    for (const name of ['placeholder', 'title', 'aria-label', 'alt']) {
      const v = el.getAttribute(name); if (v) parts.push(v);
    }
    if (el.tagName === 'INPUT' && el.value) parts.push(el.value);
  }
  return parts.join('\\n');
}"""
_LINKS = """() => Array.from(document.querySelectorAll('a[href]'), a => a.getAttribute('href'))"""


def _kind(path: str, query: str) -> str:
    tab = re.search(r"(?:^|&)(tab=[\w-]+)", query)
    return _ID.sub("/N", path) + (f"?{tab.group(1)}" if tab else "")


class Crawl:
    """Visits pages in one browser tab and writes down what is wrong with each."""

    def __init__(self, page, base: str, role: str, allowed: set[str], phone: bool = False):
        from tests.test_i18n import english_words

        self.english_words = english_words
        self.page, self.base, self.role, self.allowed, self.phone = page, base, role, allowed, phone
        self.problems: dict[str, list[str]] = {}
        self.visited: list[str] = []
        self._current: list[str] = []
        self._inflight: set = set()
        page.on("console", lambda m: self._current.append(f"console: {m.text[:200]}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self._current.append(f"script error: {str(e)[:200]}"))
        page.on("request", self._request)
        page.on("requestfinished", lambda r: self._inflight.discard(r))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        self.folder = os.path.join(SHOTS, role + ("-phone" if phone else ""))
        os.makedirs(self.folder, exist_ok=True)

    def _request(self, request):
        url = request.url
        if not url.startswith((self.base + "/", "data:", "blob:", "about:")) and url != self.base:
            self._current.append(f"outside the origin: {url[:200]}")
        self._inflight.add(request)

    def _failed(self, request):
        self._inflight.discard(request)
        failure = request.failure or ""
        if "ERR_ABORTED" not in failure:  # (a page left while loading aborts its requests)
            self._current.append(f"failed: {request.url[len(self.base):][:120]} {failure}")

    def _response(self, response):
        if response.status >= 400:
            self._current.append(f"HTTP {response.status}: {response.url[len(self.base):][:160]}")

    def _settle(self, limit: float = 8.0):
        """Until the page's own requests (charts' data, pickers) are answered."""
        ends = time.monotonic() + limit
        while self._inflight and time.monotonic() < ends:
            self.page.wait_for_timeout(25)

    def visit(self, path: str) -> list[str]:
        """The page's links (its own paths)."""
        self._current = []
        self.page.goto(self.base + path, wait_until="load")
        self._settle()
        if self.role != "public" and self.page.url.startswith(self.base + "/login/"):
            self._current.append("sent to the sign-in page")
        words = self.english_words(self.page.evaluate(_TEXT), self.allowed)
        if words:
            self._current.append(f"English: {sorted(words)}")
        if self.phone:
            wide = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wide > 2:
                self._current.append(f"{wide}px wider than the phone's screen")
        name = f"{len(self.visited):03d}{re.sub(r'[^A-Za-z0-9]+', '_', path)[:80]}.jpg"
        self.page.screenshot(path=os.path.join(self.folder, name), type="jpeg", quality=50)
        self.visited.append(path)
        if self._current:
            self.problems[path] = self._current
        return self.page.evaluate(_LINKS)

    def run(self, starts: list[str], limit: int = 600) -> None:
        """Breadth first from ``starts``, each kind of page once."""
        queue, kinds = deque(), set()

        def offer(href):
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
                return
            if href.startswith(self.base):
                href = href[len(self.base):]
            if not href.startswith("/") or href.startswith("//"):
                return
            path, _, query = href.split("#")[0].partition("?")
            if _SKIP.search(path) or (self.role == "public" and not path.startswith("/public/")):
                return
            kind = _kind(path, query)
            if kind not in kinds:
                kinds.add(kind)
                queue.append(href.split("#")[0])

        for start in starts:
            offer(start)
        while queue and len(self.visited) < limit:
            for href in self.visit(queue.popleft()):
                offer(href)


def _allowed(live_app, page) -> set[str]:
    """Data that may be Latin, as test_i18n allows (user names, 字典 and service codes), and
    the browsers' user agents the sign-in log shows."""
    from sqlalchemy import select

    from app.extensions import db
    from app.records import LoginLog
    from tests.test_i18n import _usernames

    with live_app.app_context():
        agents = db.session.scalars(select(LoginLog.user_agent).distinct()).all()
        allowed = _usernames()
    for agent in agents + [page.evaluate("navigator.userAgent")]:
        allowed |= set(re.findall(r"[A-Za-z]{2,}", agent or ""))
    return allowed


def _report(crawl: Crawl) -> str:
    return "\n".join(f"{path}: {'; '.join(found)}" for path, found in crawl.problems.items())


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_every_role(browser, live_server, live_app, role):
    from models.kernel import policy
    from app.registry import entities, view_class
    from seed.demo import ACCOUNTS

    context, page = _signed_in(browser, live_server, role)
    crawl = Crawl(page, live_server, role, _allowed(live_app, page))
    crawl.run(["/"])
    context.close()
    assert not crawl.problems, f"{len(crawl.problems)} of {len(crawl.visited)} pages:\n" + _report(crawl)
    # the crawl reached the list of every entity the role may read (the menu leads there)
    role_name = next(a["role"] for a in ACCOUNTS if a["username"] == role)
    levels = policy.ROLES[role_name]["entities"]
    readable = {view_class(m).route_base for m in entities() if m.Admin.menu and levels.get(m.__name__)}
    lists = {p[:-len("/list/")] for p in crawl.visited if p.split("?")[0].endswith("/list/")}
    assert readable <= lists, sorted(readable - lists)
    assert len(crawl.visited) >= 5, crawl.visited


def test_public_pages(browser, live_server, live_app):
    from sqlalchemy import select

    from app.extensions import db
    from models.kernel.places import Compound
    from models.service import demands, ratings

    with live_app.app_context():
        compound = db.session.scalars(select(Compound).where(Compound.contact_card.has())).first()
        demand = db.session.scalars(select(demands.Demand).where(demands.Demand.status == "resolved")).first()
        starts = ["/public/stars/", "/public/pledges/", "/public/policies/", "/public/demands/",
                  f"/public/card/{compound.public_token}", f"/public/three-heads/{compound.public_token}",
                  f"/public/rate/{ratings.rating_link(demand)}"]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    crawl = Crawl(page, live_server, "public", _allowed(live_app, page))
    crawl.run(starts)
    context.close()
    assert not crawl.problems, _report(crawl)
    assert len(crawl.visited) >= len(starts) + 3, crawl.visited


def test_grid_worker_at_phone_width(browser, live_server, live_app):
    context, page = _signed_in(browser, live_server, "grid1", phone=True)
    crawl = Crawl(page, live_server, "grid1", _allowed(live_app, page), phone=True)
    crawl.run(["/"])
    context.close()
    assert not crawl.problems, f"{len(crawl.problems)} of {len(crawl.visited)} pages:\n" + _report(crawl)
    assert len(crawl.visited) >= 20, crawl.visited


def test_the_crawl_sees_each_kind_of_problem(browser, live_server, live_app):
    """The detectors themselves: a page (served by the browser's router, not the app) with
    English text, a script from elsewhere, a console error and a request answered 500."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 812})
    page = context.new_page()
    page.route("http://elsewhere.invalid/**", lambda route: route.fulfill(status=200, body="", content_type="text/javascript"))
    page.route(f"{live_server}/probe/broken", lambda route: route.fulfill(status=500, body="x"))
    page.route(f"{live_server}/probe/page", lambda route: route.fulfill(status=200, content_type="text/html", body=(
        '<html><body><p>居民 Submit order</p><input placeholder="Search here">'
        '<div style="width:900px">宽</div>'
        '<script src="http://elsewhere.invalid/x.js"></script>'
        '<img src="/probe/broken"><script>console.error("boom")</script></body></html>')))
    crawl = Crawl(page, live_server, "probe", _allowed(live_app, page), phone=True)
    crawl.visit("/probe/page")
    context.close()
    found = " | ".join(crawl.problems["/probe/page"])
    assert "English: ['Search', 'Submit', 'here', 'order']" in found, found
    assert "outside the origin: http://elsewhere.invalid/x.js" in found, found
    assert "HTTP 500: /probe/broken" in found and "console: boom" in found, found
    assert "wider than the phone's screen" in found, found
