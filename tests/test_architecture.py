"""The import contracts of .importlinter (import-linter): the engine (app/) sits below the
domain (models/, views/, seed/) and must not import it; the bounded contexts are layered
(issue 17, docs/architecture.md). A new import against them fails here, named."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINT = os.path.join(os.path.dirname(sys.executable), "lint-imports")


def _lint(folder: str) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache"], cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": folder})


def test_the_import_contracts_hold():
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _copy(tmp_path) -> str:
    folder = str(tmp_path / "checkout")
    for package in ("app", "models", "views", "seed"):
        shutil.copytree(os.path.join(ROOT, package), os.path.join(folder, package),
                        ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "migrations"))
    shutil.copy(os.path.join(ROOT, ".importlinter"), folder)
    return folder


def test_a_new_import_of_the_domain_in_the_engine_fails_naming_it(tmp_path):
    folder = _copy(tmp_path)
    with open(os.path.join(folder, "app", "clock.py"), "a", encoding="utf-8") as fh:
        fh.write("\n\ndef _planted():\n    from models.people.people import Person  # noqa: F401\n")
    done = _lint(folder)
    assert done.returncode != 0
    assert "app.clock -> models.people.people" in done.stdout, done.stdout[-3000:]
    assert "Layers: seed, views, models above the engine (app), which imports none of them BROKEN" in done.stdout


def test_an_ignored_import_that_is_gone_must_leave_the_list(tmp_path):
    """The ratchet only turns one way: an import removed from the code while its line stays
    in ignore_imports fails (so the list always tells what is left to do)."""
    folder = _copy(tmp_path)
    path = os.path.join(folder, ".importlinter")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text.replace("    models\n    app\n", "    models\n    app\nignore_imports =\n    app.clock -> models.people.care\n", 1))
    done = _lint(folder)
    assert done.returncode != 0 and "No matches for ignored import app.clock -> models.people.care" in done.stdout + \
        done.stderr, done.stdout[-2000:] + done.stderr[-2000:]


def test_a_context_importing_one_above_it_fails_naming_it(tmp_path):
    """The kernel reads no other context; the service loop does not read volunteers."""
    folder = _copy(tmp_path)
    with open(os.path.join(folder, "models", "kernel", "places.py"), "a", encoding="utf-8") as fh:
        fh.write("\n\ndef _planted():\n    from models.service.demands import Demand  # noqa: F401\n")
    with open(os.path.join(folder, "models", "service", "ratings.py"), "a", encoding="utf-8") as fh:
        fh.write("\n\ndef _planted():\n    from models.volunteers.points import Gift  # noqa: F401\n")
    done = _lint(folder)
    assert done.returncode != 0
    assert "models.kernel.places -> models.service.demands" in done.stdout, done.stdout[-3000:]
    assert "models.service.ratings -> models.volunteers.points" in done.stdout, done.stdout[-3000:]
    assert "Contexts: the service loop and volunteers do not import each other BROKEN" in done.stdout
