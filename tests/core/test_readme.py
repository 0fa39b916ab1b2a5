"""The README's configuration table lists every variable the settings read (docs must not drift)."""

from __future__ import annotations

from tests.core.test_compose import BASE_DIR, variables_read


def test_readme_documents_every_environment_variable():
    readme = (BASE_DIR / "README.md").read_text()
    missing = sorted(name for name in variables_read() if f"`{name}`" not in readme)
    assert missing == []


def test_readme_names_the_demo_logins():
    from portal.management.commands.seed_demo import CUSTOMERS, DEMO_PASSWORD, STAFF

    readme = (BASE_DIR / "README.md").read_text()
    assert DEMO_PASSWORD in readme
    assert [u.email for u in CUSTOMERS + STAFF if u.email not in readme] == []
