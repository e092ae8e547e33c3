"""Rich text (app.richtext, app.fields.RichTextField): only the allow-listed HTML is ever
kept, by the form field and by the one save path alike; lists read it as plain text,
show pages as formatted HTML."""
from __future__ import annotations

from typing import Optional

import pytest
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import MultiDict
from wtforms import Form

from app.fields import RichTextField
from app.richtext import sanitize, sanitize_rich_columns, to_text

# ----------------------------------------------------------------------------- sanitize: removed


@pytest.mark.parametrize("dirty, clean", [
    ('<p>通知<script>alert(1)</script></p>', "<p>通知</p>"),
    ('<p onclick="steal()" onmouseover="x()">点我</p>', "<p>点我</p>"),
    ('<img src="/gift/picture-file/5" onerror="alert(1)">', '<img src="/gift/picture-file/5">'),
    ('<p style="color:red;background:url(javascript:x)">红字</p>', "<p>红字</p>"),
    ('<span style="font-size:40px" class="big" id="x">字</span>', "<span>字</span>"),
    ('<iframe src="https://evil.example/"></iframe><p>正文</p>', "<p>正文</p>"),
    ('<style>p{display:none}</style><p>正文</p>', "<p>正文</p>"),
    ('<object data="x.swf"></object><embed src="x.swf"><p>正文</p>', "<p>正文</p>"),
    ('<svg><script>alert(1)</script></svg><p>正文</p>', "<p>正文</p>"),
    ('<form action="/x"><input name="a"><button>提交</button></form>', "提交"),
    ('<!-- 备注 --><p>正文</p>', "<p>正文</p>"),
])
def test_sanitize_removes_what_could_run_or_restyle_the_page(dirty, clean):
    assert sanitize(dirty) == clean


@pytest.mark.parametrize("href", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "java&#x09;script:alert(1)", " javascript:alert(1)",
    "vbscript:msgbox(1)", "data:text/html;base64,PHNjcmlwdD4=", "file:///etc/passwd",
])
def test_sanitize_drops_links_to_scripts_and_other_schemes(href):
    result = sanitize(f'<a href="{href}">链接</a>')
    assert "href" not in result and "链接" in result
    assert "script" not in result.lower()


@pytest.mark.parametrize("src", [
    "https://evil.example/a.png", "//evil.example/a.png", "/\\evil.example/a.png",
    "data:image/png;base64,iVBORw0KGgo=", "javascript:alert(1)", "a.png", "", "/a.png", "/logout/",
])
def test_pictures_come_only_from_this_site(src):
    assert sanitize(f'<p>图<img src="{src}" alt="图"></p>') == "<p>图</p>"


# ----------------------------------------------------------------------------- sanitize: kept

def test_sanitize_keeps_the_formatting_of_a_bulletin():
    html = ("<h2>标题</h2><h3>小标题</h3><h4>细目</h4>"
            "<p><strong>粗</strong><b>粗</b><em>斜</em><i>斜</i><u>下划线</u><s>删除</s><br>下一行</p>"
            "<blockquote>引用</blockquote><ul><li>一</li></ul><ol><li>二</li></ol><hr>"
            "<table><thead><tr><th>项目</th></tr></thead><tbody><tr><td colspan=\"2\">内容</td></tr></tbody></table>"
            '<figure><img src="/bulletin/attachment/3/7" alt="奖品" width="320" '
            'height="200"><figcaption>说明</figcaption></figure>')
    assert sanitize(html) == html


def test_links_keep_their_address_and_get_rel():
    for href in ("https://www.gov.cn/", "http://example.com/a?b=1&amp;c=2", "mailto:office@example.cn",
                 "/bulletin/show/3", "#top"):
        assert sanitize(f'<a href="{href}" title="说明" target="_blank">链接</a>') == \
            f'<a href="{href}" title="说明" rel="noopener noreferrer">链接</a>'


def test_sizes_are_plain_numbers_only():
    assert sanitize('<img src="/gift/picture-file/5" width="100%" height="javascript:1">') == \
        '<img src="/gift/picture-file/5">'


def test_an_emptied_editor_is_empty():
    for html in ("", None, "<p><br></p>", "<p> </p><div><br></div>", "<script>x</script>", "<p>&nbsp;</p>"):
        assert sanitize(html) == "", html
    assert sanitize("<hr>") == "<hr>"
    assert sanitize("<p></p><ul><li>一</li></ul><p> </p>") == "<ul><li>一</li></ul>"  # editing leftovers
    assert sanitize("纯文字") == "纯文字"


def test_text_is_escaped_not_dropped():
    assert sanitize("<p>1 &lt; 2 &amp; <b>3 > 2</b></p>") == "<p>1 &lt; 2 &amp; <b>3 &gt; 2</b></p>"


# ----------------------------------------------------------------------------- to_text

def test_to_text_reads_html_as_one_line_of_text():
    html = "<h3>停水通知</h3><p>明天&nbsp;9:00&amp;起<br>停水</p><ul><li>一栋</li><li>二栋</li></ul><script>x()</script>"
    assert to_text(html) == "停水通知 明天 9:00&起 停水 一栋 二栋"
    assert to_text("") == "" and to_text(None) == ""
    assert to_text("<b>粗</b>体") == "粗体"  # inline tags do not split words


def test_to_text_cuts_with_an_ellipsis():
    text = to_text("<p>" + "字" * 100 + "</p>", 60)
    assert len(text) == 60 and text.endswith("…")
    assert to_text("<p>短</p>", 60) == "短"
    assert to_text("<p>" + "字" * 60 + "</p>", 60) == "字" * 60


# ----------------------------------------------------------------------------- the form field

class BulletinForm(Form):
    body = RichTextField(_l("Body"))


def test_the_widget_renders_the_toolbar_the_box_and_the_real_textarea(app):
    with app.test_request_context():
        form = BulletinForm(data={"body": "<p>已有<b>正文</b></p>"})
        html = str(form.body())
    assert '<textarea id="body" name="body"' in html
    assert "&lt;p&gt;已有&lt;b&gt;正文&lt;/b&gt;&lt;/p&gt;</textarea>" in html  # the HTML, escaped, as its text
    assert 'contenteditable="true"' in html and "data-richtext" in html
    for command in ("bold", "italic", "underline", "formatBlock", "insertUnorderedList", "insertOrderedList",
                    "createLink", "removeFormat"):
        assert f'data-command="{command}"' in html
    assert 'data-value="h3"' in html and 'data-value="blockquote"' in html
    assert 'title="Bold"' in html or 'title="加粗"' in html
    # without JavaScript the textarea is the field: the toolbar and the box start hidden
    assert html.count(" hidden") == 2 and "required" not in html


def test_the_widget_escapes_what_it_is_given(app):
    with app.test_request_context():
        form = BulletinForm(data={"body": "</textarea><script>alert(1)</script><p>正文</p>"})
        html = str(form.body())
    # shown sanitized (a row stored under older rules) and escaped inside the textarea
    assert "<script>" not in html and "alert" not in html and html.count("</textarea>") == 1
    assert "&lt;p&gt;正文&lt;/p&gt;" in html


def test_what_the_form_receives_is_sanitized(app):
    with app.test_request_context():
        form = BulletinForm(formdata=MultiDict({
            "body": '<p onclick="x()" style="color:red">通知<script>alert(1)</script>'
                    '<a href="javascript:alert(1)">链接</a></p>'}))
        assert form.body.data == '<p>通知<a rel="noopener noreferrer">链接</a></p>'
        assert "onclick" not in str(form.body())
        assert BulletinForm(formdata=MultiDict({"body": "<p><br></p>"})).body.data == ""


# ----------------------------------------------------------------------------- registry and domain

@pytest.fixture(scope="module")
def rich_model(app):
    """A throwaway model with a rich column (its table exists only inside each test's
    rolled-back transaction)."""
    from flask_appbuilder import Model

    from app.declare import Admin as AdminBase, field

    class RichNote(Model):
        __tablename__ = "zz_rich_note"

        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str] = mapped_column(String(50), info=field(_l("Title")))
        body: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Body"), rich=True))
        notes: Mapped[Optional[str]] = mapped_column(Text, info=field(_l("Notes")))

        class Admin(AdminBase):
            label = _l("Notes")
            registered = False  # never registered: no views, menu or permissions
            list_columns = ["title", "body"]

    try:
        yield RichNote
    finally:
        Model.metadata.remove(RichNote.__table__)


def test_a_rich_column_gets_the_editor_in_forms(app, rich_model):
    from app import fields
    from app.registry import form_extra_fields

    with app.app_context():
        extra = form_extra_fields(rich_model, ["title", "body", "notes"])
        assert extra["body"].field_class is fields.RichTextField  # an unbound field, bound by FAB's form
        assert "notes" not in extra  # a plain Text column keeps FAB's textarea
        assert "body" not in form_extra_fields(rich_model, ["body"], search=True)


def test_a_rich_column_reads_as_text_in_lists_and_as_html_on_its_page(app, rich_model):
    from app.registry import GeneratedView, _view_attrs

    body = '<h3>停水</h3><p onclick="x()">明天<b>停水</b>' + "，请储水" * 20 + "</p>"
    with app.app_context():
        attrs = _view_attrs(rich_model)
    in_list = attrs["formatters_columns"]["body"](body)
    assert not isinstance(in_list, Markup) and in_list.startswith("停水 明天停水") and len(in_list) == 60
    on_page = attrs["show_formatters_columns"]["body"](body)
    assert isinstance(on_page, Markup) and "<h3>停水</h3>" in on_page and "<b>停水</b>" in on_page
    assert "onclick" not in on_page and 'class="rich-text"' in on_page
    assert attrs["show_formatters_columns"]["body"](None) == ""
    assert "notes" not in attrs["show_formatters_columns"]


def test_the_show_widget_uses_the_show_formatters(monkeypatch):
    """FAB gives the list and the show widget the same formatters_columns; generated
    views replace them on the show widget only."""
    from app import crud
    from app.registry import GeneratedView

    class Widget:
        def __init__(self, **kwargs):
            self.template_args = kwargs

    def show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        return {"show": Widget(formatters_columns=self.formatters_columns)}

    monkeypatch.setattr(crud.EntityView, "_get_show_widget", show_widget)  # FAB's, without a database
    view = GeneratedView.__new__(GeneratedView)
    view.formatters_columns = {"body": to_text, "other": str}
    view.show_formatters_columns = {"body": Markup}
    args = view._get_show_widget(1, None)["show"].template_args
    assert args["formatters_columns"] == {"body": Markup, "other": str}
    assert view.formatters_columns == {"body": to_text, "other": str}  # the list's are untouched


def test_every_save_sanitizes_rich_columns(app, ctx, rich_model):
    """The REST API, imports and scripts all save through app.domain: none can store
    what the form would have cleaned."""
    from app import domain
    from app.extensions import db

    rich_model.__table__.create(db.session.connection())
    note = rich_model(title="通知", body='<p onclick="x()">正文<script>alert(1)</script></p>',
                      notes="<b>plain text column, left as typed</b>")
    domain.save(note, commit=False)
    assert note.body == "<p>正文</p>"
    assert note.notes == "<b>plain text column, left as typed</b>"
    note.body = '<p>改<iframe src="https://evil.example/"></iframe></p>'
    domain.save(note, commit=False)
    assert db.session.get(rich_model, note.id).body == "<p>改</p>"
    note.body = "<p><br></p>"  # an emptied body is no body
    domain.save(note, commit=False)
    assert note.body is None


def test_sanitize_rich_columns_leaves_other_objects_alone():
    class Plain:
        body = "<script>x</script>"

    item = Plain()
    sanitize_rich_columns(item)  # not a mapped class: no rich columns
    assert item.body == "<script>x</script>"


def test_the_editor_comes_with_every_page_from_this_server(as_user):
    client = as_user("worker")
    page = client.get("/").get_data(as_text=True)
    assert '<script src="/static/js/richtext.js"' in page
    assert 'href="/static/css/richtext.css"' in page
    assert "//cdn" not in page and "https://" not in page.split("<body")[0]  # nothing from the internet
    for path in ("/static/js/richtext.js", "/static/css/richtext.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
