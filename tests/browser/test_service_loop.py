"""The 三单 loop in the browser: a grid worker files a demand on a phone, the office
publishes it to the pool, a partner unit's liaison claims, starts and resolves it, the
office records a rating of 5, and the public demand list shows it resolved."""
from __future__ import annotations

import os
import re

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "test-artifacts")
PASSWORD = "Hongse@2026"
#: the page's own submit button (the menu's 退出登录 is a submit button of its own form)
SUBMIT = "button[type=submit]:not(#navbar-logout), input[type=submit]"


def _signed_in(browser, live_server, username, phone=False):
    options = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True} if phone \
        else {"viewport": {"width": 1280, "height": 900}}
    context = browser.new_context(locale="zh-CN", **options)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    page.goto(f"{live_server}/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/")
    return context, page


def _act(page, action_label, fill=None):
    """Open an action's form on the demand page, fill it, submit (confirmed)."""
    page.click(f".demand-actions .btn-toolbar button:text-is('{action_label}')")
    form = page.locator(".act-form.in form, .act-form.collapse.in form").first
    form.wait_for(state="visible")
    if fill:
        fill(form)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def test_the_whole_loop(browser, live_server):
    title = "单元门禁损坏(浏览器测试)"
    # 1. the grid worker files it on a phone
    context, page = _signed_in(browser, live_server, "grid1", phone=True)
    try:
        page.goto(f"{live_server}/service/intake/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
        repair = page.locator("#category option", has_text=re.compile("^设施维修")).first.get_attribute("value")
        page.select_option("#category", repair)
        page.fill("#title", title)
        page.fill("#description", "2栋1单元门禁锁坏了,门关不上,老人担心安全。")
        page.select_option("#compound", index=1)
        page.fill("input[name=requester_name]", "浏览器测试居民")
        page.fill("input[name=requester_phone]", "13912345678")
        page.click("button[type=submit]:not(#navbar-logout)")
        page.wait_for_load_state("networkidle")
        filed = page.locator(".filed-demand a").inner_text()
        number = filed.split()[0]
        assert re.fullmatch(r"WH-\d{4}-\d{6}", number), filed
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, "intake-phone.png"), full_page=True)
    finally:
        context.close()

    # 2. the office publishes it to the pool
    context, page = _signed_in(browser, live_server, "worker")
    try:
        page.goto(f"{live_server}/service/dispatch/")
        page.click(f".desk-row[data-number='{number}'] .title a")
        page.wait_for_url(re.compile(r".*/demand/show/\d+"))
        demand_url = page.url
        _act(page, "派单")  # the pool is the default choice
        assert "已派单" in page.locator(".demand-head").inner_text()
    finally:
        context.close()

    # 3. the partner unit's liaison claims, starts and resolves it
    context, page = _signed_in(browser, live_server, "partner")
    try:
        page.goto(f"{live_server}/service/orders/?tab=pool")
        page.locator(f".desk-row[data-number='{number}'] button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        assert "已接单" in page.content()
        page.click(f".desk-row[data-number='{number}'] .title a")
        _act(page, "开始办理")
        assert "办理中" in page.locator(".demand-head").inner_text()

        def resolution(form):
            form.locator("textarea[name=result]").fill("已更换门禁锁,门可以正常关闭")
            form.locator("textarea[name=evidence]").fill("更换前后照片已存档")
        _act(page, "办结", resolution)
        assert "已办结" in page.locator(".demand-head").inner_text()
        assert "孝感市盐业公司" in page.locator(".demand-timeline").inner_text()
    finally:
        context.close()

    # 4. the office records the requester's rating of 5 after a phone call
    context, page = _signed_in(browser, live_server, "worker")
    try:
        page.goto(demand_url)

        def five(form):
            form.locator("input[name=rating][value='5']").check()
            form.locator("textarea[name=comment]").fill("电话回访:非常满意")
        _act(page, "录入评价", five)
        assert "已评价" in page.locator(".demand-head").inner_text()
        timeline = page.locator(".demand-timeline").inner_text()
        for step in ("登记", "派单", "抢单", "开始办理", "办结", "录入评价"):
            assert step in timeline, step
        page.screenshot(path=os.path.join(ARTIFACTS, "demand-page.png"), full_page=True)
    finally:
        context.close()

    # 5. the public list shows it resolved, with no personal data
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 812}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/public/demands/")
        resolved = page.locator("h2.done + table").inner_text()
        assert number in resolved and title in resolved
        html = page.content()
        assert "浏览器测试居民" not in html and "13912345678" not in html
        assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
        page.screenshot(path=os.path.join(ARTIFACTS, "public-demands-phone.png"), full_page=True)
    finally:
        context.close()
