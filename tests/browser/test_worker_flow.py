"""A 社区工作者 adds a compound through the form and finds it by search; every
request the browser makes goes to the app's own origin."""
from __future__ import annotations

import os
from urllib.parse import urlsplit

from tests.browser.test_service_loop import SUBMIT

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "test-artifacts")


def _login(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#username", username)
    page.fill("#password", "Hongse@2026")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/")


def test_worker_adds_a_compound_and_finds_it(live_server, page):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    _login(page, live_server, "worker")
    assert "社区工作者" in page.content()

    page.goto(f"{live_server}/compound/add")
    assert "新增小区" in page.title()
    # the community is preset from the worker's scope
    assert "文化路社区" in page.locator("#select2-community-container").inner_text()
    page.fill("#name", "浏览器测试小区")
    page.select_option("#type", "sanwu")
    page.fill("#build_year", "1991")
    # grid: a server-side picker — type, wait for the match, choose it
    page.click("#select2-grid-container")
    page.fill(".select2-container--open .select2-search__field", "第三")
    page.locator(".select2-results__option", has_text="第三网格").first.click()
    assert "第三网格" in page.locator("#select2-grid-container").inner_text()
    page.click(SUBMIT)
    page.wait_for_url(f"{live_server}/compound/list/**")
    assert "记录已添加" in page.content()

    page.fill("input[name=q]", "浏览器测试")
    page.click(".quick-search button[type=submit]")
    page.wait_for_load_state("networkidle")
    rows = page.locator("tr[data-pk]")
    assert rows.count() == 1
    assert "浏览器测试小区" in rows.first.inner_text() and "第三网格" in rows.first.inner_text()
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "compound-search.png"), full_page=True)

    origin = urlsplit(live_server)
    foreign = [url for url in requests
               if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != origin.netloc]
    assert requests and not foreign, foreign


def test_form_errors_are_shown_in_chinese_and_keep_the_input(live_server, page):
    _login(page, live_server, "worker")
    page.goto(f"{live_server}/compound/add")
    page.fill("#name", "建材宿舍")  # exists in this community
    page.select_option("#type", "sanwu")
    page.fill("#address", "保留我输入的地址")
    page.click(SUBMIT)
    page.wait_for_load_state("networkidle")
    content = page.content()
    assert "已有" in content and "未保存任何内容" in content
    assert page.input_value("#address") == "保留我输入的地址"
