from decimal import Decimal

from compliance.models import DisclosureStatus
from earn.models import ProductStatus, TermsStatus
from tests.earn.factories import live_product


def test_live_product_factory_builds_a_live_product(db):
    """live_product gives a live product with approved terms, tiers and a current disclosure."""
    product = live_product("USDT", "demand", tiers=[(0, 10_000, "0.06"), (10_000, 100_000, "0.03")],
                           total_cap="1000000", min_amount="1")
    assert product.status == ProductStatus.LIVE
    assert product.total_cap == Decimal("1000000")
    terms = product.terms
    assert terms.status == TermsStatus.APPROVED and terms.approved_by_id != terms.drafted_by_id
    assert [t.apr for t in terms.tiers.all()] == [Decimal("0.06"), Decimal("0.03")]
    assert product.disclosure.status == DisclosureStatus.CURRENT
    assert product.disclosure.author_id != product.disclosure.approved_by_id


def test_live_product_factory_fixed(db):
    """A fixed product gets a term and can carry an early-redemption rule."""
    product = live_product("BTC", "fixed", term_days=90, early_redemption="penalty_rate", penalty_apr="0.01")
    assert product.terms.term_days == 90
    assert product.asset_id == "BTC"
