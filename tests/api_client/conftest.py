"""A live server on the test database, and a Python client generated from the schema it serves.

What a client team does (issue 16): generate a typed client from `/api/schema/` with a generator nobody
here wrote (openapi-python-client, pinned in requirements-dev.txt), import it, drive the journey with
it, and run schemathesis against the same server. The server is gunicorn in a subprocess with the
demo's settings (`config.settings.local`, DEBUG on), so every request runs as in production: its own
connection, autocommit, no transaction around the test. Its rate limits are raised through the
environment before it starts (THROTTLE_*), the way any deployment or test run raises them.

The world (tests/api_fuzz/world.py, plus the journey's customer and operator) is committed to the test
database once for this package and flushed afterwards, as a transactional test's teardown does. The tests
are marked django_db only so that pytest-django creates the test database: their own few reads (a one-time
code) run in its transaction, every API call runs in the server process, outside any.
The generated code goes to build/api-client/ (git-ignored, never committed).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connections
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts import roles
from accounts.models import ApiToken, User
from accounts.tokens import api_token_create
from compliance.services.rules import rules_install_defaults
from ledger.services import deposit_credit
from tests.api_fuzz.world import World, world_build
from tests.factories import UserFactory, totp_code

ROOT = Path(settings.BASE_DIR)
BUILD = ROOT / "build" / "api-client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
GUNICORN = Path(sys.executable).with_name("gunicorn")
PACKAGE = "earn_api_client"  # generated from the schema as served
JOURNEY_PASSWORD = "journey-pass-phrase-26"
STATIC_CODES = 400  # recovery codes for the staff identity's X-OTP, one per fuzzed staff request

# Figures for the closing summary (pytest_terminal_summary below).
FIGURES: dict[str, Any] = {"imports": Counter(), "journey": [], "fuzz": Counter(), "fuzz_operations": Counter(),
                           "timings": {}}


# --- The live server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    """The test database (created by pytest-django) as a URL for the server process."""
    db = connections["default"].settings_dict
    # pytest-django sets the test database up only for a session with a test marked django_db (every test here).
    assert db["NAME"].startswith(db["TEST"]["NAME"]), f"not the test database: {db['NAME']}"
    auth = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def server_environment(port: int) -> dict[str, str]:
    """The server's environment: the demo's settings, the test database, and every API rate limit raised
    (settings read THROTTLE_* when the process starts; see README, "Rate limits")."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "THROTTLE_"))}
    rates = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min")
    env.update({f"THROTTLE_{scope.upper()}": rate for scope, rate in rates.items()})
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "true",  # as the demo runs: API errors must still be JSON (issue 16, item 4)
        "DATABASE_URL": _database_url(),
        "REDIS_URL": "",  # rate-limit counters in the process, not in a Redis another run shares
        "CELERY_BROKER_URL": "memory://",  # nothing left queued for a later worker
        "NOTIFICATIONS_VIA_CELERY": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "DEMO_STAFF_TOTP": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    return env


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


@pytest.fixture(scope="package")
def live_server_process(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:
    BUILD.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = BUILD / "server.log"
    started = time.perf_counter()
    with django_db_blocker.unblock():
        env = server_environment(port)
    command = [str(GUNICORN), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1",
               "--worker-class", "gthread", "--threads", "4", "--timeout", "60", "--graceful-timeout", "5"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        for _ in range(300):
            if process.poll() is not None:
                pytest.fail(f"the live server exited ({process.returncode}):\n{server.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    break
            time.sleep(0.1)
        else:
            pytest.fail(f"the live server did not answer /healthz:\n{server.log_tail()}")
        FIGURES["timings"]["server start"] = time.perf_counter() - started
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- The world on the live server ------------------------------------------------------------------


@dataclass
class LiveWorld:
    url: str
    world: World
    customer_email: str
    operator_email: str
    demand_product: int
    blocker: Any
    staff_codes: list[str] = field(default_factory=list)
    # The identities' own API tokens, which the fuzzed DELETE /auth/tokens/{id} must not revoke (every later
    # request would be 401 on this shared world): such an id is swapped for a token made to be revoked.
    protected_tokens: set[int] = field(default_factory=set)
    decoy_tokens: dict[str, int] = field(default_factory=dict)

    def next_staff_code(self) -> str:
        """A recovery code of the fuzzing staff user that no request used yet (staff money moves need one)."""
        return self.staff_codes.pop() if self.staff_codes else ""

    def operator_code(self) -> str:
        """The operator's next unused authenticator code (tests/factories.py totp_code)."""

        with self.blocker.unblock():
            return totp_code(User.objects.get(email=self.operator_email))


def server_hash() -> str:
    """JOURNEY_PASSWORD hashed as the server checks it (the test settings hash with MD5, which it does not)."""
    hasher = PBKDF2PasswordHasher()
    return hasher.encode(JOURNEY_PASSWORD, hasher.salt())


def _flush() -> None:
    """Empty every table as a transactional test's teardown does (post_migrate puts the roles back)."""
    call_command("flush", interactive=False, verbosity=0)
    rules_install_defaults()


@pytest.fixture(scope="package")
def live(live_server_process, django_db_blocker) -> Iterator[LiveWorld]:
    """The fuzzing world plus a journey customer (with a password, no product held) and an operator with
    an authenticator, committed; flushed when the package is done."""
    with django_db_blocker.unblock():
        _flush()
        world = world_build()
        customer = UserFactory(email="journey-customer@example.com", country="SG")
        deposit_credit(user_id=customer.pk, asset="USDT", amount=Decimal("5000"), reference="journey-usdt")
        # With a confirmed authenticator (the factory gives staff one).
        operator = UserFactory(email="journey-ops@earn.example", is_staff=True)
        for user in (customer, operator):
            user.password = server_hash()
            user.save(update_fields=["password"])
        operator.groups.add(Group.objects.get(name=roles.OPERATIONS))

        staff = User.objects.get(email="fuzz-staff@earn.example")
        device = StaticDevice.objects.create(user=staff, name="recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(STATIC_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
        demand = world.ids["product_id"][0]

        protected = set(ApiToken.objects.values_list("pk", flat=True))
        fuzz_users = {"customer": "fuzz-customer@example.com", "staff": "fuzz-staff@earn.example"}
        decoys = {identity: api_token_create(user=User.objects.get(email=email), name="decoy")[0].pk
                  for identity, email in fuzz_users.items()}
    try:
        yield LiveWorld(url=live_server_process.url, world=world, customer_email=customer.email,
                        operator_email=operator.email, demand_product=demand, blocker=django_db_blocker,
                        staff_codes=codes, protected_tokens=protected, decoy_tokens=decoys)
    finally:
        # The server's connections are idle between requests; stop it first all the same, so nothing writes
        # while the tables are emptied.
        live_server_process.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            live_server_process.process.wait(timeout=15)
        with django_db_blocker.unblock():
            _flush()


# --- The generated client --------------------------------------------------------------------------


def served_schema(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/api/schema/?format=json", timeout=30) as answer:
        return json.loads(answer.read())


def non_json_request_bodies(document: dict) -> list[str]:
    """Operations whose request body is offered in another media type than JSON."""
    return sorted(op["operationId"] for item in document["paths"].values() for op in item.values()
                  if isinstance(op, dict) and set(op.get("requestBody", {}).get("content", {})) - {"application/json"})


def generate(document: dict, package: str) -> Path:
    """Run openapi-python-client on `document`; returns the folder to put on sys.path."""
    if not GENERATOR.exists():
        pytest.fail(f"{GENERATOR.name} is not installed: `make install` installs requirements-dev.txt")
    folder = BUILD / package
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "schema.json").write_text(json.dumps(document))
    (folder / "config.json").write_text(json.dumps({"package_name_override": package, "post_hooks": []}))
    done = subprocess.run(
        [str(GENERATOR), "generate", "--path", "schema.json", "--config", "config.json", "--meta", "none",
         "--output-path", package, "--overwrite"],
        cwd=folder, capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0 or not (folder / package / "client.py").exists():
        pytest.fail(f"openapi-python-client failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    return folder / package


@dataclass
class GeneratedClient:
    package: str
    root: Path
    document: dict

    def module_name(self, operation_id: str) -> str:
        """The generated module of an operation: <package>.api.<tag>.<operation_id>."""
        matches = list((self.root / "api").glob(f"*/{operation_id}.py"))
        assert len(matches) == 1, f"no single generated module for {operation_id}: {matches}"
        return f"{self.package}.api.{matches[0].parent.name}.{operation_id}"

    def operation(self, method: str, path: str) -> ModuleType:
        """The module for METHOD /path: looked up in the schema, so operation ids may change."""
        operation_id = self.document["paths"][path][method.lower()]["operationId"]
        return importlib.import_module(self.module_name(operation_id))

    def package_module(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{name}")

    def operation_modules(self) -> dict[str, Path]:
        return {path.stem: path for path in (self.root / "api").glob("*/*.py") if path.stem != "__init__"}


@pytest.fixture(scope="package")
def served_document(live_server_process) -> dict:
    return served_schema(live_server_process.url)


@pytest.fixture(scope="package")
def generated_client(served_document) -> GeneratedClient:
    """The client generated from the schema exactly as the server publishes it."""
    started = time.perf_counter()
    root = generate(served_document, PACKAGE)
    FIGURES["timings"]["generate"] = time.perf_counter() - started
    return GeneratedClient(package=PACKAGE, root=root, document=served_document)


@pytest.fixture(scope="package")
def journey_client(generated_client) -> GeneratedClient:
    """The client the journey drives: the generated client itself, no hand-written call."""
    return generated_client


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    imports, journey, fuzz = FIGURES["imports"], FIGURES["journey"], FIGURES["fuzz"]
    if not (imports or journey or fuzz):
        return
    write = terminalreporter.write_line
    write("")
    if imports:
        write(f"generated client: {imports['imported']} of {imports['total']} operation modules import")
    if journey:
        write(f"generated-client journey: {sum(ok for _, ok in journey)} of {len(journey)} steps passed")
    if fuzz:
        by_status = ", ".join(f"{status}: {n}" for status, n in sorted(fuzz.items()) if isinstance(status, int))
        write(f"schemathesis on the live server: {sum(n for s, n in fuzz.items() if isinstance(s, int))} requests "
              f"({by_status}); failures: {fuzz['failures']}")
    if os.environ.get("LIVE_FUZZ_REPORT"):
        for (identity, operation, status), n in sorted(FIGURES["fuzz_operations"].items()):
            write(f"  {identity:8} {status} {n:4}  {operation}")
    for name, seconds in FIGURES["timings"].items():
        write(f"  {name}: {seconds:.1f} s")
