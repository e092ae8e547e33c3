"""In Chromium: revealing an ID number on a resident's page lays the watermark (who
looked, and when) over the page, and the revealed value is shown."""
from __future__ import annotations

from tests.browser.test_service_loop import _signed_in


def test_a_reveal_lays_a_watermark_over_the_page(browser, live_server):
    context, page = _signed_in(browser, live_server, "secretary")
    page.goto(f"{live_server}/person/list/")
    page.locator("a[href*='/person/show/']").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".watermark").count() == 0
    button = page.locator(".reveal-value").first
    button.click()
    page.wait_for_selector(".watermark")
    assert page.locator(".watermark span").count() == 60
    text = page.locator(".watermark span").first.inner_text()
    assert "secretary" in text
    assert page.evaluate("getComputedStyle(document.querySelector('.watermark')).pointerEvents") == "none"
    context.close()
