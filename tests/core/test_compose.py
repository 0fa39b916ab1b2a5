"""docker-compose.yml agrees with the code: services, commands, environment, health checks.

No Docker engine runs here, so the file is checked as data: every variable it sets for the app
must be one the settings (or the gunicorn config) actually read, and the required ones are there.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")
REQUIRED_ENV = {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
# env("NAME" … / env.int("NAME" … in the settings; os.environ.get("NAME" … in the gunicorn config.
ENV_READ = re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']"""
                      r"""|os\.environ(?:\.get)?[\[(]\s*["']([A-Z][A-Z0-9_]*)["']""")


def variables_read() -> set[str]:
    files = [*sorted((BASE_DIR / "config" / "settings").glob("*.py")), BASE_DIR / "config" / "gunicorn.py"]
    names = {a or b for path in files for a, b in ENV_READ.findall(path.read_text())}
    return names | {"DJANGO_SETTINGS_MODULE"}  # read by Django itself


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def _command(service: dict) -> str:
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else command


def test_variables_read_are_found():
    """The pattern finds the settings' variables (guards this test against matching nothing)."""
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "WEB_CONCURRENCY"} <= \
        variables_read()


def test_the_five_services_exist(compose):
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(compose["services"])
    assert compose["services"]["postgres"]["image"].startswith("postgres:15")
    assert compose["services"]["redis"]["image"].startswith("redis:7")


def test_commands(compose):
    services = compose["services"]
    assert re.search(r"\bgunicorn config\.wsgi(:application)?\b", _command(services["web"]))
    assert re.search(r"\bcelery -A config worker\b", _command(services["worker"]))
    assert re.search(r"\bcelery -A config beat\b", _command(services["beat"]))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_is_what_the_settings_read(compose, name):
    environment = compose["services"][name]["environment"]
    names = set(environment)
    assert names >= REQUIRED_ENV
    assert names - variables_read() == set(), "variables no setting reads"
    assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_secret_key_has_no_default(compose):
    """Compose refuses to start without a secret key instead of shipping a known one."""
    assert compose["services"]["web"]["environment"]["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")


@pytest.mark.parametrize(("name", "probe"), [("postgres", "pg_isready"), ("redis", "redis-cli ping"),
                                             ("web", "/healthz")])
def test_healthchecks(compose, name, probe):
    test = compose["services"][name]["healthcheck"]["test"]
    assert probe in (" ".join(test) if isinstance(test, list) else test)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_dependencies(compose, name):
    depends = compose["services"][name]["depends_on"]
    assert depends["redis"]["condition"] == "service_healthy"
    if name != "beat":
        assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_dockerfile_builds_the_app_image():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert re.search(r'CMD \["gunicorn", "config\.wsgi:application"', dockerfile)


def test_gunicorn_config_loads():
    namespace: dict = {}
    exec(compile((BASE_DIR / "config" / "gunicorn.py").read_text(), "gunicorn.py", "exec"), namespace)
    assert namespace["bind"] == "0.0.0.0:8000"
    assert namespace["workers"] >= 1
    assert namespace["timeout"] > 0 and namespace["max_requests"] > 0


def test_production_settings_pass_the_deploy_checks():
    """With what compose passes, config.settings.production loads and `check --deploy` finds no error."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "DJANGO_SECRET_KEY": "deploy-check-" + "k" * 50, "DJANGO_ALLOWED_HOSTS": "earn.example",
           "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://nobody@127.0.0.1:1/none",
           "REDIS_URL": "redis://127.0.0.1:6379/0"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


DB_USER = re.compile(r"^postgres(?:ql)?://([^:@/]+)[:@]")


def _db_user(service: dict) -> str:
    match = DB_USER.match(service["environment"]["DATABASE_URL"])
    assert match, service["environment"]["DATABASE_URL"]
    return match.group(1)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_connect_as_the_runtime_role(compose, name):
    """Web, worker and beat use neither the owner's nor the superuser's credentials (issue 14, item 4)."""
    services = compose["services"]
    runtime, owner, superuser = _db_user(services[name]), _db_user(services["migrate"]), \
        services["postgres"]["environment"]["POSTGRES_USER"]
    assert runtime == services[name]["environment"]["DATABASE_RUNTIME_ROLE"] == "earn_app"
    assert runtime not in (owner, superuser)
    values = " ".join(str(value) for value in services[name]["environment"].values())
    assert f"//{owner}:" not in values and f"//{superuser}:" not in values
    assert "POSTGRES_PASSWORD" not in values and "EARN_OWNER_DB_PASSWORD" not in values


def test_migrate_runs_as_the_owner_and_grants_the_runtime_role(compose):
    services = compose["services"]
    assert _db_user(services["migrate"]) == "earn_owner" != services["postgres"]["environment"]["POSTGRES_USER"]
    assert re.search(r"manage\.py migrate\b.*&&.*manage\.py db_grant_runtime\b", _command(services["migrate"]))


def test_postgres_bootstraps_the_roles(compose):
    """The init script the postgres service mounts exists and gets the passwords the app URLs use."""
    postgres = compose["services"]["postgres"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in postgres["volumes"] if volume.startswith("./")}
    script = BASE_DIR / mounts["/docker-entrypoint-initdb.d/10-earn-roles.sh"]
    assert script.is_file() and "/earn-postgres/roles.sql" in script.read_text()
    assert (BASE_DIR / mounts["/earn-postgres"] / "roles.sql").is_file()
    for variable in ("EARN_OWNER_DB_PASSWORD", "EARN_APP_DB_PASSWORD"):
        assert variable in postgres["environment"] and variable in script.read_text()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_trusted_proxy_count_is_passed(compose, name):
    assert compose["services"][name]["environment"]["TRUSTED_PROXY_COUNT"] == "${TRUSTED_PROXY_COUNT:-0}"


def test_production_never_seeds_the_published_demo_staff_key():
    """The README publishes the demo staff authenticator key: production settings refuse it even when asked."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "DEMO_STAFF_TOTP": "true",
           "DJANGO_SECRET_KEY": "deploy-check-" + "k" * 50, "DJANGO_ALLOWED_HOSTS": "earn.example",
           "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://nobody@127.0.0.1:1/none"}
    code = "from django.conf import settings; print(settings.DEMO_STAFF_TOTP)"
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_prometheus_scrapes_the_web_metrics_with_the_token(compose):
    services = compose["services"]
    assert services["prometheus"]["image"].startswith("prom/prometheus:")
    assert "metrics_token" in services["prometheus"]["secrets"]
    assert compose["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    assert services["web"]["environment"]["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")
    config = yaml.safe_load((BASE_DIR / "deploy" / "prometheus" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"] == ["web:8000"]
    assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    mounts = " ".join(services["prometheus"]["volumes"])
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml" in mounts


def test_grafana_dashboard_plots_only_metrics_the_service_exports(compose):
    import json

    grafana = compose["services"]["grafana"]
    assert any(v.startswith("./deploy/grafana/dashboards:") for v in grafana["volumes"])
    dashboard = json.loads((BASE_DIR / "deploy" / "grafana" / "dashboards" / "earn.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\b(earn_[a-z_]+)", expr)}
    code = "".join(p.read_text() for p in (BASE_DIR / "monitoring").glob("*.py"))
    exported = set(re.findall(r'"(earn_[a-z_]+)"', code))
    # prometheus-client adds _total to counters, and _bucket/_count/_sum to histograms.
    suffixes = ("_total", "_bucket", "_count", "_sum")
    base = {next((n[: -len(s)] for s in suffixes if n.endswith(s) and n[: -len(s)] in exported), n) for n in used}
    assert used and base <= exported, base - exported


def test_gunicorn_empties_the_metrics_directory_and_forgets_dead_workers(tmp_path, monkeypatch):
    namespace: dict = {}
    exec(compile((BASE_DIR / "config" / "gunicorn.py").read_text(), "gunicorn.py", "exec"), namespace)
    (tmp_path / "counter_1.db").write_bytes(b"old")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    namespace["on_starting"](None)
    assert list(tmp_path.iterdir()) == []


DB_URL = re.compile(r"^postgres(?:ql)?://(?P<user>[^:@/]+)(?::[^@]*)?@(?P<host>[^:/]+):(?P<port>\d+)/(?P<name>\w+)$")


def _pgbouncer_ini() -> configparser.ConfigParser:
    ini = configparser.ConfigParser(inline_comment_prefixes=(";",), comment_prefixes=(";", "#"))
    ini.read_string((BASE_DIR / "deploy" / "pgbouncer" / "pgbouncer.ini").read_text())
    return ini


def test_pgbouncer_runs_in_transaction_mode_from_a_pinned_image(compose):
    """Issue 22, item 4: the app reaches PostgreSQL through PgBouncer in transaction pooling mode."""
    pgbouncer = compose["services"]["pgbouncer"]
    image, _colon, tag = pgbouncer["image"].partition(":")
    assert image and re.fullmatch(r"v?\d+\.\d+\.\d+[\w.-]*", tag), pgbouncer["image"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in pgbouncer["volumes"]}
    assert mounts["/etc/pgbouncer/pgbouncer.ini"] == "./deploy/pgbouncer/pgbouncer.ini"
    ini = _pgbouncer_ini()
    assert ini["pgbouncer"]["pool_mode"] == "transaction"
    assert ini["pgbouncer"]["listen_port"] == "6432"
    assert ini["pgbouncer"]["auth_type"] == "scram-sha-256"
    assert "pg_isready" in " ".join(pgbouncer["healthcheck"]["test"])
    assert pgbouncer["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_pgbouncer_writes_the_runtime_roles_password_file_only(compose):
    pgbouncer = compose["services"]["pgbouncer"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in pgbouncer["volumes"]}
    script = (BASE_DIR / mounts[pgbouncer["entrypoint"][-1]]).read_text()
    assert _pgbouncer_ini()["pgbouncer"]["auth_file"] in script
    assert "EARN_APP_DB_PASSWORD" in script and "EARN_APP_DB_PASSWORD" in pgbouncer["environment"]
    assert "OWNER" not in script and "POSTGRES_PASSWORD" not in script
    assert set(pgbouncer["environment"]) == {"EARN_APP_DB_PASSWORD"}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_connect_through_pgbouncer(compose, name):
    services = compose["services"]
    environment = services[name]["environment"]
    url = DB_URL.match(environment["DATABASE_URL"])
    assert url and (url["host"], url["port"]) == ("pgbouncer", "6432")
    assert environment["DATABASE_POOLER"] == "pgbouncer"
    # The pooler's entry for that database name leads to the postgres service's database.
    target = dict(part.split("=", 1) for part in _pgbouncer_ini()["databases"][url["name"]].split())
    assert (target["host"], target["port"], target["dbname"]) == \
        ("postgres", "5432", services["postgres"]["environment"]["POSTGRES_DB"])
    if name != "beat":  # beat keeps its schedule in a file: it never connects
        assert services[name]["depends_on"]["pgbouncer"]["condition"] == "service_healthy"


def test_migrate_connects_to_postgres_directly(compose):
    """DDL, and the owner role, do not go through the transaction pooler."""
    environment = compose["services"]["migrate"]["environment"]
    url = DB_URL.match(environment["DATABASE_URL"])
    assert url and (url["host"], url["port"]) == ("postgres", "5432")
    assert environment["DATABASE_POOLER"] == ""


def test_the_replica_url_is_passed_and_empty_by_default(compose):
    for name in APP_SERVICES:
        assert compose["services"][name]["environment"]["REPLICA_DATABASE_URL"] == "${REPLICA_DATABASE_URL:-}"
