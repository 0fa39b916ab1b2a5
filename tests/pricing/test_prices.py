from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from core.errors import InvalidAmount
from pricing.selectors import latest_price, latest_prices
from pricing.services import price_record


@pytest.mark.django_db
def test_the_newest_snapshot_is_the_price_and_history_stays(assets):
    with time_machine.travel("2026-01-01 00:00Z", tick=False):
        price_record(asset_code="BTC", price_usd="90000")
        price_record(asset_code="ETH", price_usd="3000")
    with time_machine.travel("2026-01-02 00:00Z", tick=False):
        price_record(asset_code="BTC", price_usd="95000.5")
        assert latest_prices(["BTC", "ETH", "USDT"]) == {"BTC": Decimal("95000.5"), "ETH": Decimal("3000")}
        assert latest_price("BTC", at=timezone.now() - timedelta(hours=1)) == Decimal("90000")
        assert latest_price("USDT") is None


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["0", "-1"])
def test_a_price_must_be_positive(assets, bad):
    with pytest.raises(InvalidAmount):
        price_record(asset_code="BTC", price_usd=bad)
