"""`manage.py seed_demo` creates the demo once and does nothing the second time."""

from __future__ import annotations

import base64
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.roles import OPERATIONS, user_has_role
from ledger.models import AccountKind, Asset, JournalEntry, LedgerAccount
from portal.management.commands.seed_demo import DEMO_STAFF_TOTP_KEY, FUNDING, STAFF


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_assets_users_and_balances():
    output = _seed()
    assert dict(Asset.objects.values_list("code", "scale")) == {
        "BTC": 8, "ETH": 8, "USDT": 8, "USDC": 8, "HKD": 2, "USD": 2, "HSK": 8,
        **dict.fromkeys(Asset.objects.filter(code__startswith="LP").values_list("code", flat=True), 12)}
    assert Asset.objects.filter(code__startswith="LP").count() == 1  # the demo pool's share asset
    alice = User.objects.get(email="alice@hk.example")
    assert (alice.country, alice.display_name, alice.is_staff) == ("HK", "Alice Chan", False)
    assert alice.check_password("demo-pass-2026")
    assert User.objects.get(email="bob@gb.example").country == "GB"
    assert User.objects.get(email="carol@us.example").country == "US"
    # Demo customers are seeded KYC-verified, so the demo journeys meet the country rules, not KYC_REQUIRED.
    assert set(User.objects.values_list("kyc_status", "kyc_source").distinct()) == {("verified", "demo")}
    assert User.objects.get(email="david@hk.example").language == "zh-hant"
    ops = User.objects.get(email="ops@earn.example")
    assert ops.is_staff and user_has_role(ops, OPERATIONS)
    for email, role in [("curator@earn.example", "curator"), ("approver@earn.example", "approver"),
                        ("compliance@earn.example", "compliance_officer")]:
        staff = User.objects.get(email=email)
        assert staff.is_staff and not staff.is_superuser
        assert list(staff.groups.values_list("name", flat=True)) == [role]
    admin = User.objects.get(email="admin@earn.example")
    assert admin.is_superuser and admin.is_staff
    available = LedgerAccount.objects.get(owner=alice, asset_id="USDT", kind=AccountKind.AVAILABLE)
    # 3000 of her 10000 USDT in the flexible product (demo history), three weeks of daily interest paid out
    assert Decimal("7000") < available.balance < Decimal("7020")
    earn = LedgerAccount.objects.get(owner=alice, asset_id="USDT", kind=AccountKind.EARN)
    assert earn.balance == Decimal("3000")
    assert "credited" in output and "demo-pass-2026" in output


@pytest.mark.django_db
def test_seed_demo_staff_must_enrol_unless_the_demo_key_is_on(settings):
    """Staff 2FA is mandatory: demo staff get the published demo key only where DEMO_STAFF_TOTP is on."""
    settings.DEMO_STAFF_TOTP = False
    assert "set up an authenticator at their first admin sign-in" in _seed()
    assert not TOTPDevice.objects.exists()
    settings.DEMO_STAFF_TOTP = True
    assert "EARN DEMO STAF FKEY" in _seed()
    ops = User.objects.get(email="ops@earn.example")
    device = TOTPDevice.objects.get(user=ops, confirmed=True)
    assert device.bin_key == base64.b32decode(DEMO_STAFF_TOTP_KEY)
    assert not TOTPDevice.objects.filter(user__email="alice@hk.example").exists()
    assert TOTPDevice.objects.count() == len(STAFF)


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing():
    _seed()
    counts = (User.objects.count(), JournalEntry.objects.count(), Asset.objects.count())
    balances = dict(LedgerAccount.objects.values_list("pk", "balance"))
    output = _seed()
    assert (User.objects.count(), JournalEntry.objects.count(), Asset.objects.count()) == counts
    assert dict(LedgerAccount.objects.values_list("pk", "balance")) == balances
    history = JournalEntry.objects.exclude(kind="deposit").count()
    assert JournalEntry.objects.count() == sum(len(deposits) for deposits in FUNDING.values()) + history
    assert ": created" not in output
    assert output.count(": already credited") == sum(len(deposits) for deposits in FUNDING.values())


@pytest.mark.django_db
def test_seed_demo_backfills_weeks_of_interest_for_the_demo_customers():
    """Issue 19 item 12: the earnings chart and history are not empty on day one."""
    from earn.demo_history import HISTORY_DAYS
    from earn.models import Accrual, AccrualRun

    output = _seed()
    assert "history: accrued" in output
    for email in ("alice@hk.example", "david@hk.example"):
        days = Accrual.objects.filter(position__user__email=email).values_list("date", flat=True)
        assert len(set(days)) == HISTORY_DAYS, email
        assert Accrual.objects.filter(position__user__email=email, posted__gt=0).count() == HISTORY_DAYS
    assert AccrualRun.objects.filter(status="done").count() == HISTORY_DAYS
    assert "nothing backfilled" in _seed()
