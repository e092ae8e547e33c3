"""Volunteers in the browser: staff plan an activity and publish it, sign up two
volunteers while a third (the demo volunteer's own account) signs up alone, check the
three in and complete it; the balances rise; the volunteer requests a gift; staff
approve; the balance and the stock have fallen."""
from __future__ import annotations

import datetime
import os
import re
from zoneinfo import ZoneInfo

from tests.browser.test_service_loop import ARTIFACTS, SUBMIT, _signed_in

TITLE = "楼道清洁(浏览器测试)"


def _balance(page) -> int:
    return int(page.locator(".points-balance strong").inner_text())


def _open_own_volunteer_page(page, live_server) -> None:
    page.goto(f"{live_server}/volunteer/list/")
    page.locator("a[href*='/volunteer/show/']").first.click()
    page.wait_for_load_state("networkidle")


def _stock(page, live_server, gift: str) -> int:
    page.goto(f"{live_server}/gift/list/?q={gift}")
    row = page.locator("table tbody tr", has_text=gift).first
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    return int(cells[cells.index(gift) + 2])  # name, points, stock


def test_an_activity_pays_points_and_a_gift_is_exchanged(browser, live_server):
    os.makedirs(ARTIFACTS, exist_ok=True)
    now = datetime.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, second=0, microsecond=0)
    starts = now - datetime.timedelta(hours=3)

    # the volunteer's balance before
    v_context, v_page = _signed_in(browser, live_server, "volunteer")
    _open_own_volunteer_page(v_page, live_server)
    own_url = v_page.url
    before = _balance(v_page)

    # 1. staff plan the activity and publish it
    context, page = _signed_in(browser, live_server, "worker")
    page.goto(f"{live_server}/activity/add")
    page.fill("#title", TITLE)
    page.select_option("#type", "cleaning")
    page.fill("#place", "文化路社区党群服务中心")
    page.fill("#starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#ends_at", (starts + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#capacity", "5")
    page.fill("#points", "10")
    page.click(SUBMIT)
    page.wait_for_url(f"{live_server}/activity/list/**")
    page.goto(f"{live_server}/activity/list/?q={TITLE}")
    page.locator("a[href*='/activity/show/']").first.click()
    page.wait_for_load_state("networkidle")
    activity_url = page.url
    assert "计划中" in page.content()
    page.click("button:text-is('发布')")
    page.wait_for_load_state("networkidle")
    assert "操作成功：活动现在是“已发布”。" in page.content()

    # 2. two volunteers signed up by staff, the third signs up alone
    options = page.locator("select[name=volunteer] option")
    chosen = [options.nth(i).get_attribute("value") for i in range(2)]
    page.select_option("select[name=volunteer]", chosen)
    page.click("button:text-is('报名')")
    page.wait_for_load_state("networkidle")
    assert "已报名：" in page.content()
    v_page.goto(activity_url)
    v_page.click("button:text-is('我要报名')")
    v_page.wait_for_load_state("networkidle")
    assert "已报名：" in v_page.content()

    # 3. check the three in, then complete
    page.goto(activity_url)
    for _ in range(3):
        page.locator("button:text-is('签到')").first.click()
        page.wait_for_load_state("networkidle")
        assert "已签到：" in page.content()
    assert page.locator("button:text-is('签到')").count() == 0
    page.fill("#evaluation", "楼道清洁干净,居民满意")
    page.screenshot(path=os.path.join(ARTIFACTS, "volunteer-activity-complete.png"), full_page=True)
    page.click("button:text-is('完成活动')")
    page.wait_for_load_state("networkidle")
    assert "已完成：服务记录已写入，积分已发放。" in page.content()
    assert "已完成" in page.locator(".demand-status").inner_text()

    # 4. the balance rose: 10 for taking part + 2 hours × 10 an hour
    v_page.goto(own_url)
    risen = _balance(v_page)
    assert risen == before + 10 + 2 * 10
    assert TITLE in v_page.content()  # on the ledger, with the hours

    # 5. the volunteer asks for a towel
    stock_before = _stock(page, live_server, "毛巾")
    v_page.goto(own_url)
    v_page.click("button:text-is('积分兑换礼品')")
    # the form slides open (Bootstrap's collapse): act once it is open, not while its
    # height still grows over the submit button (twice a click there sent nothing)
    v_page.locator("#request-gift.collapse.in").wait_for(state="visible")
    v_page.locator("#gift").wait_for(state="visible")
    towel = v_page.locator("#gift option", has_text="毛巾").get_attribute("value")
    v_page.select_option("#gift", towel)
    with v_page.expect_navigation():  # (a click that returned before the form was sent made this flaky)
        v_page.click("button:text-is('申请兑换')")
    v_page.wait_for_load_state("networkidle")
    voucher = re.search(r"兑换券号 (DH-\d{4}-\d{6})", v_page.content()).group(1)

    # 6. staff approve it
    page.goto(f"{live_server}/exchange/list/?q={voucher}")
    page.locator("a[href*='/exchange/show/']").first.click()
    page.wait_for_load_state("networkidle")
    assert voucher in page.content() and "已申请" in page.content()
    page.click("button:text-is('批准')")
    page.wait_for_load_state("networkidle")
    assert "操作成功：兑换现在是“已批准”。" in page.content()
    page.screenshot(path=os.path.join(ARTIFACTS, "volunteer-exchange-approved.png"), full_page=True)

    # the balance and the stock fell
    v_page.goto(own_url)
    assert _balance(v_page) == risen - 20
    assert _stock(page, live_server, "毛巾") == stock_before - 1
    context.close()
    v_context.close()
