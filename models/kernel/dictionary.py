"""The kernel's 字典 types (the 字典 itself is the engine's: :mod:`app.dictionary`).

Imported first by :mod:`models.kernel`, so that these types come first in the 字典 form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.dictionary import register_dict_type

register_dict_type("compound_type", _l("Compound type"))
register_dict_type("org_type", _l("Organisation type"))
register_dict_type("position_title", _l("Position title"))
