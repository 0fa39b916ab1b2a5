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


def _readme_section(title: str) -> str:
    readme = (BASE_DIR / "README.md").read_text()
    start = readme.index(title)
    end = readme.find("\n#", start + len(title))
    return readme[start:end if end != -1 else None]


def test_readme_lists_every_reason_code_under_its_status():
    """A refusal code added to a domain's refusals (core.refusals) is in the README's table, in its status's row."""
    from core.refusals import registered_codes, status_for

    rows = {}
    for line in _readme_section("### Reason codes").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].isdigit():
            rows[int(cells[0])] = cells[1]
    missing = sorted(code for code in registered_codes() if f"`{code}`" not in rows.get(status_for(code), ""))
    assert missing == []


def test_readme_lists_every_management_command():
    from django.core.management import get_commands

    section = _readme_section("## Management commands")
    ours = sorted(name for name, app in get_commands().items() if (BASE_DIR / app.split(".")[0]).is_dir()
                  and (BASE_DIR / app.split(".")[0] / "management").is_dir())
    assert len(ours) >= 14
    assert [name for name in ours if f"manage.py {name}" not in section] == []
