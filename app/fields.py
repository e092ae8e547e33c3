"""Form fields the registry puts in generated forms.

Relation pickers (:class:`AjaxSelectField`, :class:`AjaxSelectMultipleField`) render
only the current value; the browser asks the entity API's ``related`` endpoint for
matches as the user types, so a form never carries a whole related table.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms.fields import DateTimeLocalField
from wtforms import Field, SelectField
from wtforms.validators import ValidationError

from app.extensions import db


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
        from app.declare import choices_of

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
        from models.dictionary import choices

        current = self.data
        options = [("", str(_l("Please choose")))] + choices(self.dict_type)
        if current and current not in {c for c, _ in options}:
            from models.dictionary import label_of

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

