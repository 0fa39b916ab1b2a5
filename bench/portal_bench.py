"""Portal page cost as a customer's holdings grow: queries and render time of the dashboard, history,
inbox and Earn home for 10, 100 and 1 000 positions (plus their accrual rows and ledger postings).

    DATABASE_URL=postgres://… .venv/bin/python bench/portal_bench.py [--sizes 10,100,1000] [--repeat 20]

Runs in a throwaway database (bench/benchdb.py). Prints one line per (size, page): queries, p50 and
p95 milliseconds through Django's test client (no network, no static files), and the SQL share.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from decimal import Decimal

from benchdb import run_in_throwaway_database

PAGES = ["/", "/dashboard", "/history", "/inbox"]


def bench(sizes: list[int], repeat: int) -> None:
    from django.test.utils import override_settings

    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        _bench(sizes, repeat)


def _bench(sizes: list[int], repeat: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import timezone

    from accounts.models import User
    from compliance.models import Disclosure, DisclosureStatus
    from compliance.services.acknowledgements import acknowledgement_create
    from compliance.services.disclosures import disclosure_content_hash
    from earn.models import Accrual, Product, ProductStatus, ProductTerms, RateTier, TermsStatus
    from earn.services.subscriptions import subscription_create
    from ledger import services as ledger
    from ledger.models import Asset
    from notifications.models import Notification

    Asset.objects.get_or_create(code="USDT", defaults={"name": "Tether USD", "scale": 8})
    maker = User.objects.create_user("maker@bench.example", "x", country="HK", is_staff=True)
    checker = User.objects.create_user("checker@bench.example", "x", country="HK", is_staff=True)
    now = timezone.now()
    product = Product.objects.create(asset_id="USDT", term_type="fixed", status=ProductStatus.LIVE, name_en="Bench 30",
                                     name_zh_hant="測試 30", risk_rating=2, drafted_by=maker, approved_by=checker,
                                     approved_at=now)
    terms = ProductTerms.objects.create(product=product, version=1, status=TermsStatus.APPROVED,
                                        effective_from=dt.date(2020, 1, 1), term_days=30, min_amount=Decimal("1"),
                                        drafted_by=maker, approved_by=checker, approved_at=now)
    RateTier.objects.create(terms=terms, lower=0, upper=None, apr=Decimal("0.05"))
    statements = [{"key": "risk", "en": "Risky.", "zh-hant": "有風險。"}]
    Disclosure.objects.create(product=product, version=1, status=DisclosureStatus.CURRENT, body_en="b",
                              body_zh_hant="b", risk_statements=statements, author=maker, approved_by=checker,
                              approved_at=now,
                              sha256=disclosure_content_hash(body_en="b", body_zh_hant="b", risk_statements=statements))
    for size in sizes:
        user = User.objects.create_user(f"c{size}@bench.example", "x", country="SG", kyc_status="verified",
                                        kyc_verified_at=now, kyc_source="bench")
        ledger.deposit_credit(user_id=user.pk, asset="USDT", amount=Decimal(size * 100), reference=f"bench-{size}")
        acknowledgement_create(user=user, product_id=product.pk, disclosure_version=1, statements=["risk"],
                               language="en")
        positions = [subscription_create(user=user, product_id=product.pk, amount="50").position_id
                     for _ in range(size)]
        today = timezone.now().date()
        Accrual.objects.bulk_create([
            Accrual(position_id=pid, date=today - dt.timedelta(days=day), base=Decimal(50), apr=Decimal("0.05"),
                    exact=Decimal("0.00684931"), posted=Decimal("0.00684931"), carry=0, payout="daily", paid_out=True)
            for pid in positions for day in range(1, 31)])
        Notification.objects.bulk_create([Notification(user=user, kind="action_required", key=f"b{i}", subject="s",
                                                       body="b") for i in range(size)])
        client = Client()
        client.force_login(user)
        with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"]):
            for page in PAGES:
                client.get(page)
                timings, sql = [], []
                for _ in range(repeat):
                    with CaptureQueriesContext(connection) as queries:
                        start = time.perf_counter()
                        response = client.get(page)
                        timings.append((time.perf_counter() - start) * 1000)
                    sql.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
                    assert response.status_code == 200, page
                timings.sort()
                p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
                print(f"positions={size:>5} accrual_rows={size * 30:>6} page={page:<11} queries={len(queries):>3} "
                      f"p50={statistics.median(timings):7.1f} ms  p95={p95:7.1f} ms  "
                      f"(SQL {statistics.median(sql):6.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    run_in_throwaway_database(lambda: bench(sizes, args.repeat), prefix="portal_bench", keep=args.keep)


if __name__ == "__main__":
    main()
