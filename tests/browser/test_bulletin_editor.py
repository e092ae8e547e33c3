"""A bulletin written in the browser: the worker types the body in the editor, makes a
word bold and a list with the toolbar, saves; the page shows the formatting and the
printed issue carries it (what the editor's script sends is what the server keeps,
sanitized)."""
from __future__ import annotations

import os

from tests.browser.test_service_loop import ARTIFACTS, SUBMIT, _signed_in

TITLE = "浏览器编辑的简报"


def test_a_bulletin_is_written_with_the_editor(browser, live_server):
    os.makedirs(ARTIFACTS, exist_ok=True)
    context, page = _signed_in(browser, live_server, "worker")
    page.goto(f"{live_server}/bulletin/add")
    assert int(page.input_value("#number")) == 43  # the next issue after the demo's 42 is proposed
    page.fill("#title", TITLE)
    editor = page.locator(".richtext-editor")
    assert editor.is_visible() and not page.locator("textarea#body").is_visible()
    editor.click()
    page.keyboard.type("本月志愿服务")
    page.keyboard.press("Shift+Home")
    page.click("button[data-command='bold']")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.click("button[data-command='insertUnorderedList']")
    page.keyboard.type("清扫楼道12次")
    page.screenshot(path=os.path.join(ARTIFACTS, "bulletin-editor.png"), full_page=True)
    page.click(SUBMIT)
    page.wait_for_url(f"{live_server}/bulletin/list/**")
    page.goto(f"{live_server}/bulletin/list/?q={TITLE}")
    page.locator("a[href*='/bulletin/show/']").first.click()
    page.wait_for_load_state("networkidle")
    body = page.locator(".rich-text").first
    assert body.locator("strong, b", has_text="本月志愿服务").count() == 1
    assert body.locator("li", has_text="清扫楼道12次").count() == 1
    page.click("a[href*='/bulletin/print/']")
    page.wait_for_load_state("networkidle")
    assert page.locator(".bulletin-body li", has_text="清扫楼道12次").count() == 1
    assert "第 43 期" in page.locator(".bulletin-issue").inner_text()
    page.screenshot(path=os.path.join(ARTIFACTS, "bulletin-print.png"), full_page=True)
    context.close()
