# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)

.PHONY: run test lint migrations-check pytest test-e2e test-api-client test-pgbouncer install clean-data bench

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## Compiled translations (gettext's msgfmt; .mo files are build output, not committed).
MO := locale/zh_Hant/LC_MESSAGES/django.mo
$(MO): locale/zh_Hant/LC_MESSAGES/django.po
	msgfmt --check-format -o $@ $<

install: $(STAMP) $(MO)

## Start the embedded PostgreSQL and Celery (filesystem broker), migrate, seed, serve web + worker + beat.
run: install
	$(PY) bin/run_all.py

## ruff, then mypy with the Django and DRF plugins (pyproject.toml). The plugins load the settings; a placeholder
## DATABASE_URL (nothing connects to it) keeps them from starting the embedded PostgreSQL.
lint: install
	$(VENV)/bin/ruff check .
	DATABASE_URL="$${DATABASE_URL:-postgres://typecheck@127.0.0.1:5432/unused}" $(VENV)/bin/mypy

migrations-check: install
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

pytest: install
	$(VENV)/bin/pytest -m "not e2e" $(PYTEST_ARGS)

## The API as a client team uses it (also part of `make test`): a client generated from the served schema,
## its journey and schemathesis against a live server on the test database (tests/api_client).
test-api-client: install
	$(VENV)/bin/pytest tests/api_client $(PYTEST_ARGS)

## Browser tests in Debian's chromium (installed by .ci/run).
test-e2e: install
	$(VENV)/bin/pytest -m e2e $(PYTEST_ARGS)

## The Celery and accrual tests once more through PgBouncer in transaction pooling mode (docs/OPERATIONS.md,
## "Behind PgBouncer"); .ci/run starts the pooler with .ci/pgbouncer. The test database is created (or migrated)
## directly on DATABASE_URL first, as deployments migrate past the pooler; the tests then reach it through
## PGBOUNCER_URL (its database name is replaced by the test database's) with DATABASE_POOLER=pgbouncer.
PGBOUNCER_URL ?= postgres://postgres@127.0.0.1:6432/test
PGBOUNCER_TESTS := tests/core/test_pgbouncer.py tests/core/test_celery_worker.py tests/earn/test_accrual_lease.py \
	tests/earn/test_accrual_engine.py tests/earn/test_accrual_and_settlement.py tests/earn/test_accrual_postings.py \
	tests/earn/test_accrual_finish.py tests/earn/test_accrual_faults.py
test-pgbouncer: install
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -c "import django; django.setup(); \
	from django.db import connection; connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)"
	DATABASE_URL="$(PGBOUNCER_URL)" DATABASE_POOLER=pgbouncer $(VENV)/bin/pytest $(PGBOUNCER_TESTS) --reuse-db \
		$(PYTEST_ARGS)

test: lint migrations-check pytest

clean-data:
	rm -rf .data
