"""Form fields the registry puts in generated forms.

Relation pickers (:class:`AjaxSelectField`, :class:`AjaxSelectMultipleField`) render
only the current value; the browser asks the entity API's ``related`` endpoint for
matches as the user types, so a form never carries a whole related table.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms.fields import DateTimeLocalField, TextAreaField
from wtforms import Field, SelectField
from wtforms.validators import ValidationError

from app.declare import choices_of
from app.dictionary import choices, label_of
from app.extensions import db
from app.richtext import sanitize


class AjaxSelectWidget:
    def __call__(self, field, **kwargs):
        multiple = getattr(field, "multiple", False)
        attrs = {
            "id": kwargs.pop("id", field.id),
            "name": kwargs.pop("name_", field.name),
            "class": "form-control ajax-select " + kwargs.pop("class", ""),
            "data-url": field.url(),
            "data-placeholder": str(_l("Type to search…")),
            "data-allow-clear": "false" if field.flags.required else "true",
        }
        if multiple:
            attrs["multiple"] = "multiple"
        html = " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items())
        options = ['<option value=""></option>'] if not multiple else []
        for pk, text in field.selected():
            options.append(f'<option value="{escape(pk)}" selected>{escape(text)}</option>')
        return Markup(f"<select {html}>{''.join(options)}</select>")


class AjaxSelectField(Field):
    """A many-to-one relation chosen by id; ``data`` is the related object or None."""

    widget = AjaxSelectWidget()
    multiple = False

    def __init__(self, label=None, validators=None, *, model=None, url=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.model = model
        self._url = url
        self._bad = False

    def url(self) -> str:
        return self._url() if callable(self._url) else (self._url or "")

    def _load(self, raw):
        try:
            pk = int(raw)
        except (TypeError, ValueError):
            self._bad = True
            return None
        obj = db.session.get(self.model, pk)
        if obj is None:
            self._bad = True
        return obj

    def process_formdata(self, valuelist):
        self._bad = False
        raw = valuelist[0] if valuelist else ""
        self.data = self._load(raw) if raw not in ("", None, "__None") else None

    def pre_validate(self, form):
        if self._bad:
            raise ValidationError(str(_l("Choose a valid value.")))

    def selected(self):
        return [(self.data.id, str(self.data))] if self.data is not None else []

    def _value(self):
        return self.data.id if self.data is not None else ""


class AjaxSelectMultipleField(AjaxSelectField):
    """A many-to-many relation chosen by ids; ``data`` is a list of objects."""

    multiple = True

    def process_formdata(self, valuelist):
        self._bad = False
        self.data = [obj for obj in (self._load(v) for v in valuelist if v not in ("", None)) if obj]

    def process_data(self, value):
        self.data = list(value or [])

    def selected(self):
        return [(obj.id, str(obj)) for obj in (self.data or [])]


class ChoiceSelectField(SelectField):
    """A column with fixed values declared in code (``field(choices=...)``)."""

    def __init__(self, label=None, validators=None, *, info=None, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(label, validators, choices=[], **kwargs)
        self.info = info or {}

    def iter_choices(self):
        yield ("", str(_l("Please choose")), not self.data, {})
        for code, label in choices_of(self.info).items():
            yield (code, str(label), code == self.data, {})

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = valuelist[0] or None


class DictSelectField(SelectField):
    """A column whose values are the enabled codes of one 字典 type."""

    def __init__(self, label=None, validators=None, *, dict_type=None, **kwargs):
        kwargs.setdefault("validate_choice", False)  # the domain checks codes
        super().__init__(label, validators, choices=[], **kwargs)
        self.dict_type = dict_type

    def iter_choices(self):
        current = self.data
        options = [("", str(_l("Please choose")))] + choices(self.dict_type)
        if current and current not in {c for c, _ in options}:
            options.append((current, label_of(self.dict_type, current)))
        for code, label in options:
            yield (code, label, code == current, {})

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = valuelist[0] or None


class LocalDateTimeField(DateTimeLocalField):
    """A date and time as the browser's own picker (``datetime-local``: a native picker on
    phones, no script): the bootstrap datepicker FAB wires to DateTime columns knows no
    time and cleared the value on leaving the field. Also accepts typed ISO text."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"])
        kwargs.setdefault("render_kw", {"class": "form-control", "step": "60"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Enter a date and time, e.g. 2026-03-01 09:00."))) from None


# ----------------------------------------------------------------------------- rich text

#: the editor's buttons: (command, value, lazy title, icon); the commands are
#: document.execCommand's, run by static/js/richtext.js
RICH_TEXT_BUTTONS = [
    ("bold", "", _l("Bold"), "fa-bold"),
    ("italic", "", _l("Italic"), "fa-italic"),
    ("underline", "", _l("Underline"), "fa-underline"),
    ("formatBlock", "h3", _l("Heading"), "fa-heading"),
    ("insertUnorderedList", "", _l("Bulleted list"), "fa-list-ul"),
    ("insertOrderedList", "", _l("Numbered list"), "fa-list-ol"),
    ("formatBlock", "blockquote", _l("Quote"), "fa-quote-left"),
    ("createLink", "", _l("Link"), "fa-link"),
    ("removeFormat", "", _l("Remove formatting"), "fa-eraser"),
]


class RichTextWidget:
    """A toolbar and a ``contenteditable`` box over the real ``<textarea>``.

    The toolbar and the box start ``hidden``: without JavaScript the textarea is the
    field (HTML typed by hand, cleaned on the server all the same). richtext.js shows
    them, hides the textarea and copies the box's HTML into it on every change and on
    submit. The textarea never gets ``required``: a browser refuses to submit a form
    whose hidden control is required; the server checks instead."""

    def __call__(self, field, **kwargs):
        field_id = kwargs.pop("id", field.id)
        name = kwargs.pop("name_", field.name)
        css = " ".join(c for c in ("form-control richtext-source", kwargs.pop("class", "")) if c)
        rows = kwargs.pop("rows", 12)
        buttons = "".join(
            f'<button type="button" class="btn btn-default" data-command="{command}" '
            f'data-value="{escape(value)}" title="{escape(str(title))}" aria-label="{escape(str(title))}">'
            f'<i class="fa {icon}" aria-hidden="true"></i></button>'
            for command, value, title, icon in RICH_TEXT_BUTTONS)
        label = _l("Formatting")
        toolbar = (f'<div class="richtext-toolbar btn-toolbar" role="toolbar" hidden '
                   f'aria-label="{escape(str(label))}" aria-controls="{escape(field_id)}-editor">'
                   f'<div class="btn-group btn-group-sm">{buttons}</div></div>')
        editor = (f'<div class="richtext-editor" id="{escape(field_id)}-editor" contenteditable="true" '
                  f'role="textbox" aria-multiline="true" hidden></div>')
        textarea = (f'<textarea id="{escape(field_id)}" name="{escape(name)}" class="{escape(css)}" '
                    f'rows="{escape(rows)}">\r\n{escape(field._value())}</textarea>')
        prompt = str(_l("Link address (https://…, mailto:… or a path of this site)"))
        return Markup(f'<div class="richtext" data-richtext data-link-prompt="{escape(prompt)}">'
                      f'{toolbar}{editor}{textarea}</div>')


class RichTextField(TextAreaField):
    """HTML from the rich-text editor (a ``rich`` Text column). What arrives is cleaned
    with :func:`app.richtext.sanitize` at once, so the form, a re-shown form after an
    error and the saved row only ever hold the allow-listed HTML; an emptied editor
    gives ""."""

    widget = RichTextWidget()

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = sanitize(valuelist[0])

    def _value(self):
        return sanitize(self.data)  # a row stored under older rules opens clean in the editor
