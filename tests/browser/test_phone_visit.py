"""A 网格员 on a 375-px phone logs a visit from the overdue list and sees the count drop."""
from __future__ import annotations

import os

from tests.browser.test_service_loop import SUBMIT

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "test-artifacts")


def test_grid_worker_logs_a_visit_on_a_phone(live_server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login/")
        page.fill("#username", "grid1")
        page.fill("#password", "Hongse@2026")
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server}/")
        before = int(page.locator("#overdue-count").inner_text())
        assert before > 0
        page.click(".overdue-card")
        page.wait_for_url(f"{live_server}/care/overdue/")
        # nothing is wider than the phone
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
        first = page.locator(".overdue-list .list-group-item").first
        name = first.locator(".overdue-name a").inner_text()
        first.locator("a.btn-primary").click()
        page.wait_for_url(f"{live_server}/visit/add**")
        assert name in page.locator("#select2-person-container").inner_text()
        page.fill("#findings", "老人血压偏高，已提醒按时服药")
        page.select_option("#assessment", "attention")
        page.click(SUBMIT)
        page.wait_for_url(f"{live_server}/visit/list/**")
        assert "记录已添加" in page.content()
        page.goto(f"{live_server}/")
        after = int(page.locator("#overdue-count").inner_text())
        assert after == before - 1
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.goto(f"{live_server}/care/overdue/")
        page.screenshot(path=os.path.join(ARTIFACTS, "overdue-phone.png"), full_page=True)
    finally:
        context.close()
