"""The domain registers what the engine needs at start-up (config.DOMAIN): menu categories
in order before the engine's own, the place tree, the user model, the role table, its CLI
commands and demo accounts; an app made with another DOMAIN starts without them."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_domain_registers_its_hooks(app):
    from app import menu, passwords, policy, scope
    from models.kernel import policy as table
    from models.kernel.places import Community, Grid, Street
    from models.kernel.users import AppUser

    assert list(menu.CATEGORIES) == ["places", "orgs", "people", "care", "service", "volunteers", "honours",
                                     "cobuilding", "system", "audit"]
    assert scope.places() == (Street, Community, Grid)
    assert app.appbuilder.sm.user_model is AppUser
    assert policy.roles() == table.ROLES and policy.extra_menus() == table.EXTRA_MENUS
    assert {"seed", "demands", "cobuilding", "roles", "import", "audit", "backup"} <= set(app.cli.commands)
    assert "secretary" in passwords._demo_accounts


def test_a_category_registered_later_comes_before_the_engines_own():
    from app import menu

    before = dict(menu.CATEGORIES)
    try:
        menu.register_category("zz_later", "Later", "fa-circle")
        assert list(menu.CATEGORIES)[-3:] == ["zz_later", "system", "audit"]
        menu.register_category("places", *before["places"])  # again: keeps its place
        assert list(menu.CATEGORIES)[0] == "places"
    finally:
        menu.CATEGORIES.clear()
        menu.CATEGORIES.update(before)


_EMPTY = r"""
import sys, tempfile
from app import create_app
from config import TestingConfig
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User

app = create_app(TestingConfig, DOMAIN=[], WTF_CSRF_ENABLED=False,
                 SQLALCHEMY_DATABASE_URI="sqlite:///" + tempfile.mktemp(suffix=".db"),
                 JOBS_FOLDER=tempfile.mkdtemp())
assert app.appbuilder.sm.user_model is User, app.appbuilder.sm.user_model
assert app.config["FAB_INDEX_VIEW"] is None
assert "seed" not in app.cli.commands and "roles" in app.cli.commands
with app.app_context():
    from app.extensions import db
    Model.metadata.create_all(db.engine)
    from app import policy
    policy.sync(app.appbuilder, echo=lambda *_: None)
client = app.test_client()
assert client.get("/login/").status_code == 200
assert client.get("/").status_code == 200
print("served")
"""


def test_an_app_without_the_domain_starts_and_serves():
    done = subprocess.run([sys.executable, "-c", _EMPTY], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 0 and "served" in done.stdout, done.stdout[-2000:] + done.stderr[-4000:]
