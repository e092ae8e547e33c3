"""Rich text: the HTML of a bulletin's body, made safe once, wherever it comes from.

A rich column (``field(_l("Body"), rich=True)`` on a Text column) holds HTML written in
the browser's small editor (:class:`app.fields.RichTextField`), sent through the REST
API or imported. Every way in ends in :func:`sanitize`: the form field cleans what it
receives, and :func:`sanitize_rich_columns` runs in the one save path
(:func:`app.domain.validate_many`), so nothing unsafe is ever stored, and show pages
can render the stored HTML as it is.

The allow-list is explicit and short: the formatting a community bulletin needs
(paragraphs, headings, emphasis, lists, quotes, links, tables, pictures uploaded to
this app's own picture store) and no styles, classes, scripts, frames or event handlers.
What is shown is sanitized again on the way out (pages, the editor, the REST API), so a
body stored under older rules is harmless too.
"""
from __future__ import annotations

import functools
import re
from html.parser import HTMLParser

import nh3

#: tags kept (with their text); anything else is dropped and its text kept
TAGS = frozenset({
    "p", "br", "div", "span", "h2", "h3", "h4", "strong", "b", "em", "i", "u", "s",
    "blockquote", "ul", "ol", "li", "a", "img", "hr",
    "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption",
})
#: tags dropped together with everything inside them (code, frames, embedded objects)
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "noscript",
    "template", "svg", "math", "textarea", "select", "title", "head",
})
#: attributes kept, per tag; no tag keeps ``style``, ``class``, ``id`` or ``on*``
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
#: schemes a link may use; a URL without a scheme (relative) is kept as well
URL_SCHEMES = frozenset({"http", "https", "mailto"})

#: a picture's source: only the app's own picture store — an attachment of a record
#: ("/bulletin/attachment/3/7") or a gift's picture ("/gift/picture-file/5") — never any
#: other path of this site (a GET of "/logout/" or of an action would run as the viewer),
#: another host ("//host/…"), a query, a data: URL or any scheme
_PICTURE_PATH = re.compile(r"^/(?:[a-z][a-z0-9-]{0,40}/attachment/\d{1,10}/\d{1,10}|gift/picture-file/\d{1,10})$")
#: the endpoints those paths must lead to, when an application is there to ask
_PICTURE_ENDPOINTS = (".attachment", "GiftView.picture_file")
_NUMBER = re.compile(r"^\d{1,4}$")
#: a picture whose source was refused (nothing to show)
_IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
#: empty paragraphs, left by the browser's editing commands (a list made inside a
#: paragraph comes out as <p></p><ul>…</ul><p></p>)
_EMPTY_PARAGRAPH = re.compile(r"<p>\s*</p>")
_SPACE = re.compile(r"\s+")
#: tags after which text read as plain text starts a new word
_BREAKING = frozenset({"p", "br", "div", "h2", "h3", "h4", "blockquote", "ul", "ol", "li", "hr",
                       "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption"})


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Narrower rules than the scheme list for what it cannot say: pictures only from
    this app, sizes only as plain numbers."""
    if tag == "img" and attribute == "src":
        return value if picture_source(value) else None
    if attribute in ("width", "height", "colspan", "rowspan"):
        return value if _NUMBER.match(value.strip()) else None
    return value


def picture_source(value: str) -> bool:
    """Whether ``value`` may be the source of a picture in rich text: a path of the
    app's own picture store (:data:`_PICTURE_PATH`) that, inside the application, leads
    to one of its file-serving views."""
    from flask import current_app, has_app_context

    if not _PICTURE_PATH.match(value or ""):
        return False
    if not has_app_context():
        return True
    from werkzeug.exceptions import HTTPException

    try:
        endpoint, _args = current_app.url_map.bind("localhost").match(value, method="GET")
    except HTTPException:
        return False
    return endpoint.endswith(_PICTURE_ENDPOINTS)


#: built once: the options are parsed and checked when the module loads
_CLEANER = nh3.Cleaner(
    tags=set(TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
    attribute_filter=_attribute_filter, url_schemes=set(URL_SCHEMES),
    link_rel="noopener noreferrer", strip_comments=True,
)


def sanitize(html: str | None) -> str:
    """``html`` reduced to the allow-list; "" when nothing readable is left (an editor
    emptied by the user leaves ``<p><br></p>``, which must count as empty)."""
    if not html:
        return ""
    clean = _CLEANER.clean(str(html))
    clean = _EMPTY_PARAGRAPH.sub("", _IMG_WITHOUT_SRC.sub("", clean)).strip()
    if not to_text(clean) and "<img" not in clean and "<hr" not in clean:
        return ""
    return clean


class _TextReader(HTMLParser):
    """Collects the text of an HTML fragment, a space at every block boundary."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in DROPPED_WITH_CONTENT:
            self._skipping += 1
        elif tag in _BREAKING:
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in _BREAKING:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in DROPPED_WITH_CONTENT:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BREAKING:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def to_text(html: str | None, limit: int | None = None) -> str:
    """The plain text of ``html`` (for list columns, excerpts, search snippets):
    tags gone, entities decoded, whitespace collapsed; cut to ``limit`` characters
    with an ellipsis. The result is text, to be escaped like any other."""
    if not html:
        return ""
    reader = _TextReader()
    reader.feed(str(html))
    reader.close()
    text = _SPACE.sub(" ", "".join(reader.parts)).strip()
    if limit is not None and len(text) > limit:
        text = text[:max(limit - 1, 0)].rstrip() + "…"
    return text


# ----------------------------------------------------------------------------- entities

@functools.lru_cache(maxsize=None)
def rich_columns(model) -> tuple[str, ...]:
    """The keys of ``model``'s rich columns (``info["rich"]``). Mappings are fixed once
    configured, so this is computed once a model and a save without rich columns costs
    one cache lookup."""
    from sqlalchemy import inspect as sa_inspect

    mapper = sa_inspect(model, raiseerr=False)
    if mapper is None:
        return ()
    return tuple(prop.key for prop in mapper.column_attrs if prop.columns[0].info.get("rich"))


def sanitize_rich_columns(item) -> None:
    """Sanitize every rich column of ``item`` in place (called for every save, so the
    REST API, imports and scripts cannot store what the form would have cleaned)."""
    for key in rich_columns(type(item)):
        value = getattr(item, key, None)
        if isinstance(value, str):
            clean = sanitize(value)
            if clean != value:
                setattr(item, key, clean)
