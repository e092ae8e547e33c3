"""字典 types whose codes come from national standards (see app.standards).

This module only maps 字典 types to the code tables; the tables themselves live in
app.standards, where models, importers and tests use them too.
"""
from __future__ import annotations

from app.standards import (
    ETHNICITY_CODES, HOUSEHOLD_RELATION_CODES, POLITICAL_STATUS_CODES, SEX_CODES,
)

DICTIONARY: dict[str, list[tuple[str, str]]] = {
    "gender": SEX_CODES,                              # GB/T 2261.1-2003
    "ethnicity": ETHNICITY_CODES,                     # GB/T 3304-1991
    "political_status": POLITICAL_STATUS_CODES,       # GB/T 4762-1984 (as revised)
    "household_relation": HOUSEHOLD_RELATION_CODES,   # GB/T 4761-2008
}
