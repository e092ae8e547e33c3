"""Sign-out in the browser (issue 16, defect 3): a bulletin planted with
``<img src="/logout/">`` and a visit of /logout/ sign nobody out; 退出登录 in the user
menu (a small form posting the CSRF token) signs out, on a 1440-pixel screen and on a
375-pixel phone, where it reads like the menu link above it."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import select, update

from tests.browser.test_service_loop import ARTIFACTS
from tests.conftest import PASSWORD

PLANTED = '<p>被植入图片的简报</p><img src="/logout/">'


def _plant(live_app) -> int:
    """A bulletin whose body was stored before the rules (straight into the table)."""
    from app.extensions import db
    from models.volunteers.bulletins import Bulletin
    from tests import factories as f

    with live_app.app_context():
        bulletin_id = db.session.scalar(select(Bulletin.id).where(Bulletin.community_id == f.community().id)
                                        .order_by(Bulletin.id))
        db.session.execute(update(Bulletin).where(Bulletin.id == bulletin_id).values(body=PLANTED))
        db.session.commit()
    return bulletin_id


def _sign_in(browser, live_server, width):
    phone = width < 768
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900 if not phone else 812},
                                  is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.goto(f"{live_server}/login/")
    page.fill("#username", "worker")
    page.fill("#password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/")
    return context, page


def _signed_in(page, live_server) -> bool:
    page.goto(f"{live_server}/users/userinfo/")
    return "/login/" not in page.url


@pytest.mark.parametrize("width", [1440, 375])
def test_the_menu_signs_out_and_nothing_else_does(browser, live_server, live_app, width):
    os.makedirs(ARTIFACTS, exist_ok=True)
    bulletin_id = _plant(live_app)
    context, page = _sign_in(browser, live_server, width)
    for url in (f"/bulletin/show/{bulletin_id}", f"/bulletin/print/{bulletin_id}", f"/bulletin/edit/{bulletin_id}"):
        page.goto(f"{live_server}{url}")
        page.wait_for_load_state("networkidle")
        assert page.locator("img[src*='logout']").count() == 0, url
    page.goto(f"{live_server}/logout/")  # a GET asks
    assert page.locator("#logout-confirm").is_visible()
    assert "确定要退出当前账户吗" in page.content()
    assert _signed_in(page, live_server)

    page.goto(f"{live_server}/")
    if width < 768:
        page.click(".navbar-toggle")
    page.click(".navbar-right a.dropdown-toggle:has(.fa-user)")
    button = page.locator("#navbar-logout")
    button.wait_for(state="visible")
    assert button.inner_text().strip() == "退出登录"
    profile = page.locator(".navbar-right .dropdown-menu a:has(.fa-user)")
    mine, theirs = button.bounding_box(), profile.bounding_box()
    assert abs(mine["x"] - theirs["x"]) < 1 and abs(mine["width"] - theirs["width"]) < 1  # reads like the link
    style = ("(e) => [getComputedStyle(e).fontSize, getComputedStyle(e).paddingLeft, getComputedStyle(e).color, "
             "getComputedStyle(e).textAlign]")
    assert button.evaluate(style) == profile.evaluate(style)
    assert mine["x"] >= 0 and mine["x"] + mine["width"] <= width + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    page.screenshot(path=os.path.join(ARTIFACTS, f"signout-menu-{width}.png"))
    button.click()
    page.wait_for_load_state("networkidle")
    assert not _signed_in(page, live_server)
    context.close()
