"""The Content-Security-Policy refuses nothing the app itself needs: pages that use every
kind of script (relation pickers, the rich-text editor, charts, the 大屏, the API docs,
public pages) load in Chromium with no policy violation and no console error."""
from __future__ import annotations

from tests.browser.test_service_loop import _signed_in

_WATCH = """window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});"""


def _visit(page, url) -> tuple[list, list]:
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__violations"), errors


def test_pages_load_under_the_policy(browser, live_server):
    context, page = _signed_in(browser, live_server, "secretary")
    context.add_init_script(_WATCH)
    page.goto(f"{live_server}/demand/list/")
    first = page.locator("a[href*='/demand/show/']").first.get_attribute("href")
    problems = {}
    for path in ("/", "/dashboard/", "/dashboard/screen", "/demand/list/", "/demand/add", first,
                 "/bulletin/add", "/demand/chart/per_month", "/person/list/", "/activity/add",
                 "/swagger/v1", "/public/stars/", "/public/policies/"):
        violations, errors = _visit(page, f"{live_server}{path}")
        if violations or errors:
            problems[path] = (violations, errors)
    page.goto(f"{live_server}/demand/add")
    page.locator(".select2-container").first.click()  # a relation picker asks the server (AJAX)
    page.wait_for_timeout(500)
    violations = page.evaluate("window.__violations")
    if violations:
        problems["picker"] = violations
    assert not problems, problems
    context.close()
