"""Every Flask-AppBuilder method the engine overrides, with the signature it had in the FAB
version the override was written for (tests/data/fab_overrides.json). An upgrade of FAB
that changes one of them — or a new override not yet pinned — fails here, by name, rather
than somewhere at run time (issue 17)."""
from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil

import flask_appbuilder

PINNED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "fab_overrides.json")


def overridden() -> dict[str, str]:
    """{FAB method's dotted name: its signature} for each method of a FAB class that a class
    of app/ or views/ defines again (the nearest FAB base that has it)."""
    found = {}
    for package in ("app", "views"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            if ".migrations" in info.name:
                continue
            module = importlib.import_module(info.name)
            for cls in vars(module).values():
                if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                    continue
                for name in vars(cls):
                    if name.startswith("__"):
                        continue
                    base = next((b for b in cls.__mro__[1:] if b.__module__.startswith("flask_appbuilder")
                                 and name in vars(b)), None)
                    if base is None:
                        continue
                    target = vars(base)[name]
                    function = target.__func__ if isinstance(target, (classmethod, staticmethod)) else target
                    if inspect.isfunction(function):
                        found[f"{base.__module__}.{base.__qualname__}.{name}"] = str(inspect.signature(function))
    return found


def _pinned() -> dict:
    with open(PINNED, encoding="utf-8") as fh:
        return json.load(fh)


def test_every_override_is_pinned_and_fab_still_has_its_signature(app):
    pinned, now = _pinned(), overridden()
    assert sorted(set(now) - set(pinned["methods"])) == [], "overrides of FAB methods not yet pinned"
    assert sorted(set(pinned["methods"]) - set(now)) == [], "pinned overrides the engine no longer makes"
    changed = {name: (pinned["methods"][name], now[name]) for name in now if now[name] != pinned["methods"][name]}
    assert changed == {}, f"FAB {flask_appbuilder.__version__} changed the signatures of overridden methods"


def test_fab_is_the_version_the_overrides_were_written_for():
    assert flask_appbuilder.__version__ == _pinned()["flask_appbuilder"], \
        "FAB was upgraded: read each pinned method's upstream code again, then update tests/data/fab_overrides.json"
