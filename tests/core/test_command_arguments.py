"""Out-of-range or malformed command arguments are one clear error, not a traceback or a job that never ends."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("command", "args", "says"), [
    ("run_accrual", ["--chunk-size", "0"], "must be at least 1"),
    ("run_accrual", ["--chunk-size", "ten"], "expected an integer"),
    ("run_accrual", ["--date", "2026-W10-2"], "YYYY-MM-DD"),
    ("run_accrual", ["--date", "20260303"], "YYYY-MM-DD"),
    ("audit_verify", ["--batch", "0"], "must be at least 1"),
    ("reconcile", ["--max-details", "-1"], "must be at least 0"),
])
def test_bad_arguments_are_refused_with_the_reason(command, args, says):
    with pytest.raises(CommandError, match=says):
        call_command(command, *args)


def test_the_smallest_allowed_values_run(capsys):
    call_command("reconcile", "--max-details", "0")
    call_command("audit_verify", "--batch", "1")
    out = capsys.readouterr().out
    assert "mismatches:       0" in out
