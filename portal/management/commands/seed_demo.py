"""`manage.py seed_demo`: the demo data of `make run`; safe to run any number of times.

Each step is a small function `step(out)` that creates what is missing and says what it did;
later steps (products, disclosures, pools …) are added to `STEPS` in order.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.models import User
from accounts.selectors import user_ids_by_email
from accounts.services import roles_sync, user_ensure
from compliance.demo import seed_compliance
from earn.demo import seed_products
from earn.demo_history import seed_history
from ledger import selectors as ledger_selectors
from ledger import services as ledger
from ledger.models import Asset
from pools.demo import seed_pools
from pricing.selectors import latest_price
from pricing.services import price_record

# The demo password printed by bin/run_all.py: a demo convenience, not a secret.
DEMO_PASSWORD = "demo-pass-2026"

ASSETS = [
    ("BTC", "Bitcoin", 8), ("ETH", "Ether", 8), ("USDT", "Tether USD", 8), ("USDC", "USD Coin", 8),
    ("HKD", "Hong Kong dollar", 2), ("USD", "US dollar", 2), ("HSK", "HashKey Platform Token", 8),
]


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    country: str
    language: str = "en"
    role: str | None = None
    superuser: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role is not None or self.superuser


CUSTOMERS = [
    DemoUser("alice@hk.example", "Alice Chan", "HK"),
    DemoUser("bob@gb.example", "Bob Smith", "GB"),
    DemoUser("carol@us.example", "Carol Jones", "US"),  # a restricted country: refused at subscription
    DemoUser("david@hk.example", "David Wong", "HK", language="zh-hant"),
]
STAFF = [
    DemoUser("curator@earn.example", "Demo curator", "HK", role=roles.CURATOR),
    DemoUser("approver@earn.example", "Demo approver", "HK", role=roles.APPROVER),
    DemoUser("compliance@earn.example", "Demo compliance officer", "HK", role=roles.COMPLIANCE_OFFICER),
    DemoUser("ops@earn.example", "Demo operations", "HK", role=roles.OPERATIONS),
    DemoUser("admin@earn.example", "Demo administrator", "HK", superuser=True),
]
# Opening available balances, credited from the exchange wallet.
FUNDING: dict[str, list[tuple[str, str]]] = {
    "alice@hk.example": [("USDT", "10000"), ("BTC", "1.5"), ("ETH", "20"), ("HKD", "50000")],
    "bob@gb.example": [("USDT", "5000"), ("USDC", "5000"), ("BTC", "0.5"), ("USD", "2000")],
    "carol@us.example": [("USDT", "1000")],
    "david@hk.example": [("USDT", "20000"), ("ETH", "5"), ("HKD", "100000")],
}

Out = Callable[[str], None]


def seed_assets(out: Out) -> None:
    # There is no ledger service for reference data yet; assets are created here directly.
    created = [code for code, name, scale in ASSETS
               if Asset.objects.get_or_create(code=code, defaults={"name": name, "scale": scale})[1]]
    out(f"assets: created {', '.join(created)}" if created else "assets: all present")


def seed_roles(out: Out) -> None:
    counts = roles_sync()
    out("roles: " + ", ".join(f"{role} ({n} permissions)" for role, n in counts.items()))


def seed_users(out: Out) -> None:
    for demo in CUSTOMERS + STAFF:
        user, created = user_ensure(
            email=demo.email, password=DEMO_PASSWORD, country=demo.country, display_name=demo.display_name,
            language=demo.language, is_staff=demo.is_staff, is_superuser=demo.superuser,
            roles=[demo.role] if demo.role else [], kyc_verified=True,
        )
        what = "superuser" if demo.superuser else (demo.role or "customer")
        out(f"user {demo.email} ({what}, {demo.country}): {'created' if created else 'exists'}")


def seed_balances(out: Out) -> None:
    ids = user_ids_by_email(emails=FUNDING)
    for email, deposits in FUNDING.items():
        for asset, amount in deposits:
            # Deterministic reference: a re-run replays the deposit instead of paying twice.
            reference = f"seed-demo:{email}:{asset}:{amount}"
            existed = ledger_selectors.deposit_get(reference=reference) is not None
            ledger.deposit_credit(user_id=ids[email], asset=asset, amount=Decimal(amount), reference=reference,
                                  memo="demo opening balance")
            out(f"deposit {amount} {asset} to {email}: {'already credited' if existed else 'credited'}")


# The demo staff's authenticator key (base32, for typing into an authenticator app): published, so only
# seeded where settings.DEMO_STAFF_TOTP is on (local runs; never production settings).
DEMO_STAFF_TOTP_KEY = "EARNDEMOSTAFFKEYEARNDEMOSTAFFKEY"


def seed_staff_2fa(out: Out) -> None:
    """Staff two-factor authentication is mandatory: demo staff get an authenticator with the demo key, or
    (DEMO_STAFF_TOTP off) set one up at their first sign-in."""
    if not settings.DEMO_STAFF_TOTP:
        out("staff 2FA: demo staff set up an authenticator at their first admin sign-in (DEMO_STAFF_TOTP is off)")
        return
    key = base64.b32decode(DEMO_STAFF_TOTP_KEY).hex()
    for demo in STAFF:
        user = User.objects.get(email=demo.email)
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            continue
        TOTPDevice.objects.create(user=user, name="demo authenticator", key=key, confirmed=True)
    spaced = " ".join(DEMO_STAFF_TOTP_KEY[i:i + 4] for i in range(0, len(DEMO_STAFF_TOTP_KEY), 4))
    out(f"staff 2FA: demo staff sign in with a code from an authenticator app set up with the demo key {spaced}")


# Opening USD prices; `pricing` keeps the history, the newest is the price.
PRICES = {"BTC": "90000", "ETH": "3000", "USDT": "1", "USDC": "1", "HKD": "0.128", "USD": "1", "HSK": "0.5"}


def seed_prices(out: Out) -> None:
    missing = [code for code in PRICES if latest_price(code) is None]
    for code in missing:
        price_record(asset_code=code, price_usd=PRICES[code], source="seed")
    out(f"prices: recorded {', '.join(missing)}" if missing else "prices: all present")


# Venue limits for the exposure page (/admin/operations/exposure/), set by the demo operator (audited).
DEMO_LIMITS = [("venue", "Exchange institutional lending desk", "5000000"),
               ("venue", "Uniswap v2 (vetted pool)", "2000000")]


def seed_exposure_limits(out: Out) -> None:
    from earn.models import ExposureLimit
    from earn.services.exposure_limits import exposure_limit_save

    operator = User.objects.get(email="ops@earn.example")
    made = []
    for kind, name, usd in DEMO_LIMITS:
        if not ExposureLimit.objects.filter(kind=kind, name__iexact=name).exists():
            exposure_limit_save(actor=operator, kind=kind, name=name, limit_usd=usd, note="demo")
            made.append(name)
    out(f"exposure limits: set {', '.join(made)}" if made else "exposure limits: all present")


STEPS: list[Callable[[Out], None]] = [seed_assets, seed_roles, seed_users, seed_staff_2fa, seed_balances, seed_prices,
                                    seed_compliance, seed_products, seed_pools, seed_history, seed_exposure_limits]


class Command(BaseCommand):
    help = "Create the demo assets, users (password demo-pass-2026) and balances; idempotent."

    def handle(self, *args: object, **options: Any) -> None:
        verbose = int(options.get("verbosity", 1)) >= 1

        def out(line: str) -> None:
            if verbose:
                self.stdout.write(f"  {line}")

        for step in STEPS:
            with transaction.atomic():
                step(out)
        if verbose:
            self.stdout.write(self.style.SUCCESS(f"Demo data ready; every demo login uses {DEMO_PASSWORD}."))
