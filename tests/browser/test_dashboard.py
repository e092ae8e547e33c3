"""The meeting dashboard in Chromium: every request stays on the app's own origin, every
chart canvas is drawn (pixels that are not blank), the tiles equal SQL counts made on
the live server's database — for a community worker and for a grid worker, whose
figures are their grid's only; printed, it fits one A4 landscape page; the 大屏 fills a
1920×1080 screen without scrolling."""
from __future__ import annotations

import datetime
import io
import os

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.browser.test_service_loop import ARTIFACTS, _signed_in

#: the number of non-transparent pixels of a canvas
_INKED = """(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) n++; } return n; }"""


def _expected(live_app, username: str) -> dict:
    """The tiles' figures, counted in SQL on the live server's database."""
    from app import clock
    from app.extensions import db
    from models.people.care import CareGroup
    from models.people.people import Household, Person
    from models.kernel.places import Community, Compound
    from models.service.demands import Demand
    from models.kernel.users import AppUser

    with live_app.app_context():
        user = db.session.scalars(select(AppUser).where(AppUser.username == username)).one()
        community = db.session.scalars(select(Community).where(Community.name == "文化路社区")).one()

        def where(model):
            if user.scope_grid_id is not None:
                return [model.grid_id == user.scope_grid_id]
            return [model.community_id == community.id]

        def count(model, *more):
            return db.session.scalar(select(func.count()).select_from(model).where(*where(model), *more))

        since = datetime.datetime.combine(clock.today() - datetime.timedelta(days=91), datetime.time.min)
        return {"households": count(Household), "residents": count(Person), "in_care": count(CareGroup),
                "collected": count(Demand, Demand.created_at >= since), "compounds": count(Compound)}


@pytest.mark.parametrize("username", ["worker", "grid1"])
def test_the_dashboard_draws_every_chart_from_its_own_origin(browser, live_server, live_app, username):
    os.makedirs(ARTIFACTS, exist_ok=True)
    context, page = _signed_in(browser, live_server, username)
    requests, failures = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: failures.append((r.status, r.url)) if r.status >= 400 else None)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/dashboard/")
    page.wait_for_load_state("networkidle")
    foreign = [u for u in requests if not u.startswith(live_server) and not u.startswith(("data:", "blob:"))]
    assert not foreign and not failures and not errors, (foreign, failures, errors)

    boxes = page.locator(".chart-box")
    assert boxes.count() == 12
    for i in range(boxes.count()):
        canvas = boxes.nth(i).locator("canvas").first
        assert canvas.evaluate(_INKED) > 500, boxes.nth(i).get_attribute("id")

    shown = {page.locator(".kpi").nth(i).get_attribute("data-kpi"):
             page.locator(".kpi .kpi-value").nth(i).inner_text().strip() for i in range(page.locator(".kpi").count())}
    expected = _expected(live_app, username)
    for key, value in expected.items():
        assert int(shown[key]) == value, (username, key)
    if username == "worker":
        assert expected["collected"] >= 150 and expected["in_care"] == 56 and expected["compounds"] == 57
    else:
        assert expected["households"] < _expected(live_app, "worker")["households"]
    page.screenshot(path=os.path.join(ARTIFACTS, f"dashboard-{username}.png"), full_page=True)

    # printed: one A4 landscape page, nothing wider than the paper (297 mm less the margins)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 1069, "height": 756})
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1069
    assert page.locator(".kpi-tiles a[href]").first.evaluate("a => getComputedStyle(a, '::after').content") \
        in ("none", "normal")
    data = page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True)
    with open(os.path.join(ARTIFACTS, f"dashboard-{username}.pdf"), "wb") as fh:
        fh.write(data)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    assert "会议看板" in reader.pages[0].extract_text()
    context.close()


def test_the_big_screen_fills_1920_by_1080(browser, live_server):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/login/")
    page.fill("#username", "secretary")
    page.fill("#password", "Hongse@2026")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server}/dashboard/screen")
    page.wait_for_load_state("networkidle")
    assert all(u.startswith(live_server) or u.startswith(("data:", "blob:")) for u in requests), requests
    size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert size[0] <= 1920 and size[1] <= 1080, size
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(10, 22, 48)"
    visible = page.locator(".screen-chart:not([hidden]) .chart-box")
    assert visible.count() == 6  # a page of six; the next six follow
    for i in range(visible.count()):
        assert visible.nth(i).locator("canvas").first.evaluate(_INKED) > 500
    value = page.locator('.screen-kpi[data-kpi="collected"] .v').inner_text()
    assert int(value) >= 150
    assert float(page.evaluate("parseFloat(getComputedStyle(document.querySelector('.screen-kpi .v')).fontSize)")) >= 40
    page.screenshot(path=os.path.join(ARTIFACTS, "dashboard-screen.png"))
    context.close()


def test_a_grid_worker_reads_the_dashboard_on_a_phone(browser, live_server):
    context, page = _signed_in(browser, live_server, "grid1", phone=True)
    page.goto(f"{live_server}/dashboard/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    boxes = page.locator(".chart-box")
    assert boxes.count() == 12
    assert boxes.first.locator("canvas").first.evaluate(_INKED) > 500
    page.screenshot(path=os.path.join(ARTIFACTS, "dashboard-grid1-phone.png"), full_page=True)
    context.close()
