"""The value-date calendar is a pure module: T+1 value date, maturity = value date + term, UTC days."""

import datetime as dt
import subprocess
import sys

import pytest

from earn.calendar import maturity_date_for, value_date_for


def test_value_date_is_the_next_utc_day():
    hk = dt.timezone(dt.timedelta(hours=8))
    assert value_date_for(dt.datetime(2026, 3, 1, 23, 59, tzinfo=dt.UTC)) == dt.date(2026, 3, 2)
    assert value_date_for(dt.datetime(2026, 3, 2, 7, 59, tzinfo=hk)) == dt.date(2026, 3, 2)  # still 1 March UTC


def test_maturity_is_value_date_plus_term():
    assert maturity_date_for(dt.date(2026, 2, 20), 10) == dt.date(2026, 3, 2)


def test_naive_moment_is_refused():
    with pytest.raises(ValueError):
        value_date_for(dt.datetime(2026, 3, 1, 12))


def test_calendar_and_money_import_without_django():
    code = ("import sys; import earn.calendar, earn.interest, core.money; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
