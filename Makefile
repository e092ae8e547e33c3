# 红色驿站共治平台 — the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := FLASK_APP=run.py $(BIN)/flask
HOST ?= 127.0.0.1
PORT ?= 8080
FAB_DIR = $(shell $(BIN)/python -c 'import flask_appbuilder, os; print(os.path.dirname(flask_appbuilder.__file__))')
BABEL_KEYWORDS := -k _l -k lazy_gettext -k _ -k gettext -k ngettext:1,2 -k lazy_ngettext:1,2 -k lazy_formatter_gettext -k N_

.PHONY: venv assets run setup-db test test-sqlite test-postgres test-browser i18n bench clean

$(BIN)/.installed: requirements.txt requirements-test.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

# ECharts for the charts, from the npm registry at a pinned version and checksum, served by
# the app itself (pages never load scripts from another origin).
ECHARTS_VERSION := 5.6.0
ECHARTS_SHA256 := bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1
ECHARTS := app/static/vendor/echarts/echarts.min.js

$(ECHARTS):
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent echarts@$(ECHARTS_VERSION) >/dev/null \
	  && tar xzf echarts-$(ECHARTS_VERSION).tgz package/dist/echarts.min.js package/LICENSE \
	  && echo "$(ECHARTS_SHA256)  package/dist/echarts.min.js" | sha256sum -c --quiet -) \
	  && mkdir -p $(dir $(ECHARTS)) && cp $$tmp/package/LICENSE $(dir $(ECHARTS))LICENSE \
	  && cp $$tmp/package/dist/echarts.min.js $@ && rm -rf $$tmp

# Noto Sans SC (SIL Open Font License) for the server-made PDF brief: the TrueType file of
# the npm package @expo-google-fonts/noto-sans-sc at a pinned version and checksum.
FONT_PACKAGE := @expo-google-fonts/noto-sans-sc
FONT_VERSION := 0.4.3
FONT_SHA256 := d45f67f0a7c0ca3f256950777ce6a61cc7ce5f9696d02900cbbaac25f8aa7d16
FONT := app/static/vendor/fonts/NotoSansSC-Regular.ttf

$(FONT):
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent $(FONT_PACKAGE)@$(FONT_VERSION) >/dev/null \
	  && tar xzf expo-google-fonts-noto-sans-sc-$(FONT_VERSION).tgz package/400Regular/NotoSansSC_400Regular.ttf \
	     package/LICENSE_FONT \
	  && echo "$(FONT_SHA256)  package/400Regular/NotoSansSC_400Regular.ttf" | sha256sum -c --quiet -) \
	  && mkdir -p $(dir $(FONT)) && cp $$tmp/package/LICENSE_FONT $(dir $(FONT))OFL.txt \
	  && cp $$tmp/package/400Regular/NotoSansSC_400Regular.ttf $@ && rm -rf $$tmp

assets: $(ECHARTS) $(FONT)

venv: $(BIN)/.installed $(ECHARTS) $(FONT)

instance/secret_key:
	mkdir -p instance
	$(BIN)/python -c 'import secrets; print(secrets.token_hex(32))' > $@
	chmod 600 $@

# Migrations, roles and the demo seed on SQLite under instance/ (idempotent).
setup-db: venv instance/secret_key
	$(FLASK) db upgrade -d app/migrations
	$(FLASK) seed demo

# Command 1: set up and serve the app with gunicorn on http://127.0.0.1:8080
run: setup-db
	@echo ""
	@echo "  红色驿站共治平台: http://$(HOST):$(PORT)/   (demo accounts: see README.md, password Hongse@2026)"
	@echo ""
	APP_ENV=production DEMO_MODE=true SECRET_KEY=$$(cat instance/secret_key) \
	  $(BIN)/gunicorn --workers 2 --threads 4 --bind $(HOST):$(PORT) --access-logfile - run:app

# Command 2: the whole suite — three lanes side by side: the SQLite lane, the browser lane
# (its own seeded SQLite file and live server) and the PostgreSQL lane; the outputs of the
# two background lanes follow the SQLite lane's.
test: venv
	@pg=""; pglog=$$(mktemp); brlog=$$(mktemp); \
	if [ -n "$$TEST_DATABASE_URL" ]; then \
	  ( $(BIN)/python -m pytest -q -p no:cacheprovider -m "not browser" tests --db="$$TEST_DATABASE_URL" \
	      > $$pglog 2>&1; echo $$? > $$pglog.rc ) & pg=$$!; \
	  echo "PostgreSQL lane running in the background ($$TEST_DATABASE_URL)"; \
	elif [ -n "$$CI" ]; then echo "CI: TEST_DATABASE_URL is not set; the PostgreSQL lane cannot run" >&2; exit 1; \
	else echo "PostgreSQL lane skipped: set TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test"; fi; \
	( $(BIN)/python -m pytest -q -p no:cacheprovider -m browser tests > $$brlog 2>&1; echo $$? > $$brlog.rc ) & br=$$!; \
	echo "browser lane running in the background (screenshots in test-artifacts/)"; \
	echo "== SQLite lane"; \
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not browser" tests; rc=$$?; \
	wait $$br; echo "== browser lane"; cat $$brlog; [ "$$(cat $$brlog.rc)" = "0" ] || rc=1; rm -f $$brlog $$brlog.rc; \
	if [ -n "$$pg" ]; then \
	  wait $$pg; echo "== PostgreSQL lane"; cat $$pglog; [ "$$(cat $$pglog.rc)" = "0" ] || rc=1; \
	fi; \
	rm -f $$pglog $$pglog.rc; \
	exit $$rc

test-sqlite: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not browser" tests

test-postgres: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not browser" tests \
	  --db="$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"

test-browser: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider -m browser tests

# Extract (our code and Flask-AppBuilder's), update and compile the catalogs.
i18n: venv
	$(BIN)/pybabel extract -F translations/babel.cfg $(BABEL_KEYWORDS) --no-location --sort-output \
	  --project="红色驿站共治平台" -o translations/messages.pot app models views $(FAB_DIR)
	$(BIN)/pybabel update -i translations/messages.pot -d translations -l zh --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d translations -l zh --statistics

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance/app.db .pytest_cache
