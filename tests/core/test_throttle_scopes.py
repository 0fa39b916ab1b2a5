"""Every API rate limit is documented and can be raised per environment (issue 16, item 6).

schemathesis' requests were mostly 429 on subscriptions and deposits: a test run (or a load test) must
be able to raise every limit through the environment before the server starts, and the README must say
what each one covers and what answers 429.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from tests.core.test_compose import BASE_DIR


def _routes(patterns, prefix=""):  # type: ignore[no-untyped-def]
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def throttle_scopes() -> dict[str, set[str]]:
    """scope -> the API routes it limits, from every view's throttle classes."""
    scopes: dict[str, set[str]] = {}
    for route, callback in _routes(get_resolver().url_patterns):
        view = getattr(callback, "cls", None)
        for throttle in getattr(view, "throttle_classes", []):
            if issubclass(throttle, ScopedRateThrottle):
                scope = view.throttle_scope
            elif issubclass(throttle, SimpleRateThrottle):
                scope = throttle.scope
            else:
                continue
            scopes.setdefault(scope, set()).add(route)
    return scopes


def test_every_throttle_scope_has_a_rate_setting():
    scopes = throttle_scopes()
    assert {"money", "auth", "staff_lookup"} <= set(scopes)
    assert set(scopes) == set(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])


def test_every_rate_is_read_from_the_environment_when_the_process_starts():
    """THROTTLE_<SCOPE> sets each scope's rate (DRF reads the rates once, at import: the environment of the
    server process is where a test harness raises them)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("THROTTLE_")}
    wanted = {scope: f"{7 + n}/min" for n, scope in enumerate(throttle_scopes())}
    env.update({f"THROTTLE_{scope.upper()}": rate for scope, rate in wanted.items()})
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    code = ("import django, json; django.setup(); from rest_framework.throttling import ScopedRateThrottle; "
            "print(json.dumps(ScopedRateThrottle.THROTTLE_RATES))")
    done = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == wanted


def test_the_readme_documents_every_limit_with_its_default():
    readme = (BASE_DIR / "README.md").read_text()
    section = readme.split("### Rate limits", 1)[1].split("\n## ", 1)[0]
    for scope in throttle_scopes():
        variable = f"`THROTTLE_{scope.upper()}`"
        assert variable in section, variable
        assert f"`{scope}`" in section, scope
    assert "429" in section and "THROTTLED" in section and "Retry-After" in section and "LOCKED_OUT" in section
