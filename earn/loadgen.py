"""Set-based generation of many customers and positions, for benchmarks and fault drills.

Not used by the service itself: a million positions through `subscription_create` would take
hours, so this writes the same rows the service would (users, positions, their changes, the
product's sold amount and the ledger entry moving the principal into earn accounts) in a few
statements. Everything it writes reconciles.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from earn.models import Product
from ledger import bulk
from ledger.models import AccountKind, EntryKind


@transaction.atomic
def positions_generate(*, product: Product, customers: int, per_customer: int = 1, amount: Decimal,
                       value_date: dt.date, tag: str) -> int:
    """Create `customers` customers each holding `per_customer` positions of `amount` in `product`
    (demand products allow one per customer), earning from `value_date`. Returns positions made."""
    terms = product.terms_versions.filter(status="approved").order_by("-effective_from", "-version").first()
    if terms is None:
        raise ValueError(f"product {product.pk} has no approved terms")
    if product.term_type == "demand" and per_customer != 1:
        raise ValueError("a demand product holds one position per customer")
    maturity = value_date + dt.timedelta(days=terms.term_days or 0) if product.term_type == "fixed" else None
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS _loadgen_positions")
        cursor.execute(
            """
            CREATE TEMP TABLE _loadgen_positions ON COMMIT DROP AS
            WITH new_users AS (
                INSERT INTO accounts_user (password, is_superuser, email, display_name, country, language,
                                           is_staff, is_active, date_joined)
                SELECT '!', false, format('loadgen-%%s-%%s@example.invalid', %(tag)s::text, g), '', 'HK', 'en',
                       false, true, %(now)s
                  FROM generate_series(1, %(customers)s) g
                RETURNING id
            ), new_positions AS (
                INSERT INTO earn_position (user_id, product_id, terms_id, asset_id, term_type, status, principal,
                                           value_date, maturity_date, auto_renew, auto_compound, created_at)
                SELECT u.id, %(product)s, %(terms)s, %(asset)s, %(term_type)s, 'active', %(amount)s,
                       %(value_date)s, %(maturity)s, false, false, %(now)s
                  FROM new_users u CROSS JOIN generate_series(1, %(per_customer)s)
                RETURNING id, user_id, asset_id, principal
            )
            SELECT * FROM new_positions
            """,
            {"tag": tag, "now": now, "customers": customers, "per_customer": per_customer, "product": product.pk,
             "terms": terms.pk, "asset": product.asset_id, "term_type": product.term_type, "amount": amount,
             "value_date": value_date, "maturity": maturity},
        )
        cursor.execute(
            """
            INSERT INTO earn_positionchange (position_id, effective_date, amount, reason, created_at)
            SELECT id, %s, principal, 'subscription', %s FROM _loadgen_positions
            """,
            [value_date, now],
        )
        made = cursor.rowcount
        cursor.execute("UPDATE earn_product SET sold_amount = sold_amount + %s WHERE id = %s",
                       [amount * made, product.pk])
        bulk.entry_post_credits(
            kind=EntryKind.SUBSCRIPTION, idempotency_key=f"loadgen:{tag}", reference=f"loadgen:{tag}",
            debit_kind=AccountKind.EXTERNAL, memo="generated positions",
            credits_sql="SELECT user_id, asset_id, 'earn', sum(principal) FROM _loadgen_positions GROUP BY 1, 2",
            params=[],
        )
        cursor.execute("DROP TABLE _loadgen_positions")
    return made
