"""Chinese first: a complete zh catalog, compiled, and no English on zh pages."""
from __future__ import annotations

import html as htmllib
import functools
import os
import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(__file__))
PO = os.path.join(ROOT, "translations", "zh", "LC_MESSAGES", "messages.po")
MO = os.path.join(ROOT, "translations", "zh", "LC_MESSAGES", "messages.mo")
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None,
            "ngettext": (1, 2), "lazy_ngettext": (1, 2), "lazy_formatter_gettext": None, "N_": None}


def _catalog():
    with open(PO, "rb") as fh:
        return read_po(fh, locale="zh")


def test_zh_catalog_has_no_empty_or_fuzzy_entries():
    catalog = _catalog()
    empty = [m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not empty, f"untranslated: {empty[:20]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:20]}"


def test_placeholders_survive_translation():
    pattern = re.compile(r"%\(\w+\)[sd]|%[sd]")
    bad = [m.id for m in _catalog() if m.id and isinstance(m.id, str)
           and sorted(pattern.findall(m.id)) != sorted(pattern.findall(m.string or ""))]
    assert not bad, bad


def test_compiled_catalog_is_up_to_date():
    with open(MO, "rb") as fh:
        compiled = read_mo(fh)
    source = {m.id: m.string for m in _catalog() if m.id}
    built = {m.id: m.string for m in compiled if m.id}
    assert built == source, "translations/zh/LC_MESSAGES/messages.mo is stale: run `make i18n`"


def _extracted(path, method_map):
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            path, method_map=method_map, keywords=KEYWORDS,
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.do"}}):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_catalog_covers_every_string_of_the_code_and_of_flask_appbuilder():
    import flask_appbuilder

    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    wanted = set()
    for package in ("app", "models", "views"):
        wanted |= _extracted(os.path.join(ROOT, package), method_map)
    wanted |= _extracted(os.path.dirname(flask_appbuilder.__file__), method_map)
    have = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog() if m.id}
    missing = sorted(m for m in wanted if m and m not in have)
    assert not missing, f"not in the zh catalog (run `make i18n` and translate): {missing[:30]}"


# --------------------------------------------------------------------------- pages

_ALLOWED = {"Excel", "English", "WHL", "HY", "km", "GB", "OpenAPI", "Swagger", "API", "ID", "JSON",
            "WH",  # WH: the demand number prefix (DEMAND_NUMBER_PREFIX)
            "ZY", "DH", "ZM",  # volunteer numbers (WHL-ZY0001), vouchers (DH-2026-000001), certificates (ZM-…)
            # file formats named in upload hints (照片（JPEG、PNG、WebP）、PDF、Word …, 5 MB)
            "JPEG", "PNG", "WebP", "PDF", "Word", "PowerPoint", "MB", "KB",
            # receipt and voucher numbers of funds (SJ…, ZC…, GJ…), mediation case numbers (TJ-2026-0001)
            "SJ", "ZC", "GJ", "TJ",
            "Werkzeug"}  # the test client's user agent, in the sign-in log
_VISIBLE_ATTRS = re.compile(r'\s(?:placeholder|title|alt|data-placeholder|aria-label)="([^"]*)"')
_BUTTON_VALUES = re.compile(r'<input[^>]*type="(?:submit|button|reset)"[^>]*value="([^"]*)"'
                            r'|<input[^>]*value="([^"]*)"[^>]*type="(?:submit|button|reset)"')


def visible_text(page: str) -> str:
    # a textarea holds data (a rich-text body's HTML source), not words of the page
    page = re.sub(r"(?is)<(script|style|textarea)\b.*?</\1>", " ", page)
    shown = _VISIBLE_ATTRS.findall(page) + [a or b for a, b in _BUTTON_VALUES.findall(page)]
    attrs = " ".join(m for m in shown if not m.startswith(("/", "#", "http")))
    page = re.sub(r"(?s)<!--.*?-->", " ", page)
    text = re.sub(r"(?s)<[^>]+>", " ", page)
    return htmllib.unescape(text + " " + attrs)


@functools.lru_cache(maxsize=16)
def _allowed_pattern(allowed: frozenset):
    """One pattern for every allowed word (longest first), not a pass per word."""
    if not allowed:
        return None
    words = "|".join(re.escape(w) for w in sorted(allowed, key=len, reverse=True))
    return re.compile(r"(?<![A-Za-z])(?:" + words + r")(?![A-Za-z])")


def english_words(page: str, allowed=()) -> set[str]:
    """English words of the visible text; ``allowed`` are data (user names, codes)."""
    text = visible_text(page)
    text = re.sub(r"[\w.+-]+@[\w.-]+", " ", text)  # e-mail addresses
    text = re.sub(r"\b[0-9A-Z]{18}\b", " ", text)  # unified social credit codes (data)
    pattern = _allowed_pattern(frozenset(allowed))
    if pattern is not None:
        text = pattern.sub(" ", text)
    words = set(re.findall(r"[A-Za-z]{2,}", text))
    return {w for w in words if w not in _ALLOWED and w not in allowed}


def _writer(model) -> str:
    """A demo user who may write ``model`` (or at least read it)."""
    from models.kernel import policy

    for username, role in (("secretary", "社区书记/主任"), ("sysadmin", "系统管理员"),
                           ("auditor", "审计管理员")):
        if policy.ROLES[role]["entities"].get(model.__name__) == policy.W:
            return username
    return "auditor" if model.__name__ in ("AuditLog", "LoginLog") else "secretary"


def _pages(app):
    from app.registry import entities, view_class

    from app.charts import charts_of

    pages = {"worker": ["/", "/organisation/tree/", "/users/userinfo/", "/resetmypassword/form",
                        "/userinfoeditview/form", "/dashboard/", "/dashboard/screen"],
             "secadmin": ["/", "/users/list/", "/users/add", "/roles/list/", "/roles/add", "/groups/list/",
                          "/groups/add", "/permissions/list/", "/viewmenus/list/",
                          "/permissionviews/list/"]}
    for model in entities():
        view = view_class(model)
        urls = pages.setdefault(_writer(model), [])
        urls.append(f"{view.route_base}/list/")
        if not model.Admin.readonly:
            urls.append(f"{view.route_base}/add")
        urls.extend(f"{view.route_base}/chart/{name}" for name in charts_of(model))
    return pages


def _usernames():
    """Data that may be Latin: user names, 字典 codes and service codes."""
    from app.dictionary import DictItem
    from app.extensions import db
    from models.service.demands import ServiceCategory
    from models.kernel.users import AppUser

    from app.records import LoginLog

    return {u.username for u in db.session.query(AppUser).all()} | \
        {name for (name,) in db.session.query(LoginLog.username).distinct() if name} | \
        {code for (code,) in db.session.query(DictItem.code).all()} | \
        {code for (code,) in db.session.query(ServiceCategory.code).all()}  # Open311 service codes


def _english_on(client, urls, allowed) -> dict:
    """{url: English words} for the pages among ``urls`` that show any."""
    problems = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        words = english_words(response.get_data(as_text=True), allowed)
        if words:
            problems[url] = sorted(words)
    return problems


def test_no_english_on_zh_pages(app, ctx, as_user):
    usernames = _usernames()
    problems = {}
    for username, urls in _pages(app).items():
        problems.update(_english_on(as_user(username), urls, usernames))
    assert not problems, problems


def test_show_and_edit_pages_are_chinese(app, ctx, as_user):
    from app.registry import entities, generated_api, view_class

    usernames = _usernames()
    problems = {}
    for model in entities():
        username = _writer(model)
        client = as_user(username)
        api = generated_api(model)
        first = client.get(f"/api/v1/{api.resource_name}/?q=(page_size:1)").json["result"][0]
        view = view_class(model)
        urls = [f"{view.route_base}/show/{first['id']}"]
        if not model.Admin.readonly:
            urls.append(f"{view.route_base}/edit/{first['id']}")
        problems.update(_english_on(client, urls, usernames))
    assert not problems, problems


def test_english_is_the_alternate(app, as_user):
    client = as_user("worker")
    client.get("/lang/en")
    html = client.get("/compound/list/").get_data(as_text=True)
    assert "Compounds list" in html
    client.get("/lang/zh")
    assert "小区列表" in client.get("/compound/list/").get_data(as_text=True)


def test_flash_messages_and_error_pages_are_chinese(app, ctx, as_user):
    usernames = _usernames()
    client = as_user("worker")
    failed = client.post("/compound/add", data={"name": "", "type": "无效类型"}).get_data(as_text=True)
    saved = client.post("/road/add", data={"name": "中文测试巷", "community": "1"}, follow_redirects=True) \
        .get_data(as_text=True)
    forbidden = as_user("volunteer").get("/organisation/list/").get_data(as_text=True)
    missing = client.get("/compound/show/999999").get_data(as_text=True)
    for page in (failed, saved, forbidden, missing):
        assert not english_words(page, usernames), english_words(page, usernames)
    assert 'class="navbar' in forbidden  # the error page keeps the menu
