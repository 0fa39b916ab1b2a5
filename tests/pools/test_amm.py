"""Pool math (pools.amm, no database): SCENARIOS.md 16 and 17, and properties of every rounding."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pools import amm

SCALE = 8
SHARE_SCALE = 12


def units(low: str, high: str, scale: int = SCALE):
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=scale, allow_nan=False,
                       allow_infinity=False)


reserves = units("0.01", "1000000")
amounts = units("0.00010000", "100000")
fees = st.sampled_from([Decimal("0"), Decimal("0.0005"), Decimal("0.003"), Decimal("0.01")])


# --- SCENARIOS.md 16: impermanent loss -----------------------------------------------------------

def test_scenario_16_il_values():
    """r = 2 → −5.7191 %; r = 4 → −20.0000 %."""
    assert (amm.impermanent_loss(Decimal(2)) * 100).quantize(Decimal("0.0001")) == Decimal("-5.7191")
    assert (amm.impermanent_loss(Decimal(4)) * 100).quantize(Decimal("0.0001")) == Decimal("-20.0000")
    assert amm.impermanent_loss(Decimal(1)) == 0


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=4))
def test_scenario_16_il_symmetric(r):
    """IL(r) = IL(1/r), and IL is never a gain."""
    il = amm.impermanent_loss(r)
    assert abs(il - amm.impermanent_loss(1 / r)) < Decimal("1e-20")  # 1/r is itself rounded to 28 digits
    assert il <= 0


def test_il_matches_the_pool_after_a_price_move():
    """Re-balancing a pool to a ×4 price loses what the formula says against holding."""
    ra, rb = Decimal("10"), Decimal("600000")  # BTC at 60 000 USDT
    new_a, new_b = amm.rebalance(ra, rb, Decimal("240000"), Decimal("1"), 8, 8)
    pool_value = new_a * 240000 + new_b
    hold_value = ra * 240000 + rb
    assert abs(pool_value / hold_value - 1 - amm.impermanent_loss(Decimal(4))) < Decimal("1e-8")


# --- SCENARIOS.md 17: largest remainder ----------------------------------------------------------

def test_scenario_17_largest_remainder():
    """1.00000000 split 1:1:1 posts 0.33333334, 0.33333333, 0.33333333 — the first in a stable order gets the unit."""
    parts = amm.largest_remainder(Decimal("1.00000000"), [(7, Decimal(1)), (3, Decimal(1)), (5, Decimal(1))], 8)
    assert parts == {3: Decimal("0.33333334"), 5: Decimal("0.33333333"), 7: Decimal("0.33333333")}
    assert sum(parts.values()) == Decimal("1.00000000")


@given(st.lists(units("0.000000000001", "1000", SHARE_SCALE), min_size=1, max_size=30), units("0", "10000"))
def test_largest_remainder_exact_and_fair(weights, total):
    """Parts sum to the total exactly; each is its exact share rounded down or up by one unit."""
    assume(sum(weights) > 0)
    keyed = list(enumerate(weights, start=1))
    parts = amm.largest_remainder(total, keyed, SCALE)
    assert sum(parts.values()) == total
    whole = sum(weights)
    for key, weight in keyed:
        exact = total * weight / whole
        assert parts[key] >= amm.floor_to(exact, SCALE)
        assert parts[key] - exact < Decimal("1e-8")


# --- Properties of the pool -----------------------------------------------------------------------

@given(reserves, reserves, amounts, fees)
@settings(max_examples=300)
def test_k_never_decreases_through_a_swap(ra, rb, amount_in, fee):
    """Selling into the pool keeps k = ra·rb at least where it was (fees only raise it)."""
    out = amm.swap_output(ra, rb, amount_in, fee, SCALE)
    assert 0 <= out < rb
    assert (ra + amount_in) * (rb - out) >= ra * rb


@given(reserves, reserves, st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=4),
       st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=4))
@settings(max_examples=300)
def test_rebalance_keeps_k_and_reaches_the_price(ra, rb, price_a, price_b):
    new_a, new_b = amm.rebalance(ra, rb, price_a, price_b, SCALE, SCALE)
    assert new_a * new_b >= ra * rb
    if new_a > Decimal("0.001") and new_b > Decimal("0.001"):
        # The pool price lands on the market price within what rounding to 8 places allows.
        assert abs(new_b / new_a - price_a / price_b) <= (price_a / price_b) * Decimal("1e-3") + Decimal("1e-6")


@given(reserves, reserves, units("1", "1000000", SHARE_SCALE), amounts, amounts)
@settings(max_examples=300)
def test_deposit_then_redeem_never_favours_the_customer(ra, rb, shares, amount_a, amount_b):
    """Shares minted for a deposit return at most what was deposited, and the pool's value per share never falls."""
    minted = amm.shares_for_deposit(ra, rb, shares, amount_a, amount_b, SHARE_SCALE)
    assume(minted > 0)
    ra2, rb2, s2 = ra + amount_a, rb + amount_b, shares + minted
    back_a, back_b = amm.redemption_amounts(ra2, rb2, s2, minted, SCALE, SCALE)
    assert back_a <= amount_a and back_b <= amount_b
    # Value per share (both assets) never decreases for those already in.
    assert ra2 * shares <= ra * s2 or ra2 / s2 >= ra / shares
    assert ra2 / s2 >= ra / shares - Decimal("1e-20") and rb2 / s2 >= rb / shares - Decimal("1e-20")


@given(reserves, reserves, units("1", "1000000", SHARE_SCALE),
       st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=12))
@settings(max_examples=200)
def test_shares_never_over_redeem(ra, rb, shares, cuts):
    """Burning every share in any number of pieces never returns more than the reserves hold."""
    whole = sum(cuts)
    pieces = [amm.floor_to(shares * c / whole, SHARE_SCALE) for c in cuts]
    pieces[-1] += shares - sum(pieces)
    left_a, left_b, left_s = ra, rb, shares
    for piece in pieces:
        if piece <= 0:
            continue
        a, b = amm.redemption_amounts(left_a, left_b, left_s, piece, SCALE, SCALE)
        left_a, left_b, left_s = left_a - a, left_b - b, left_s - piece
        assert left_a >= 0 and left_b >= 0
    assert left_s == 0


@given(reserves, reserves, amounts, fees)
@settings(max_examples=200)
def test_one_asset_deposit_states_its_fee_and_takes_no_more_than_given(ra, rb, amount, fee):
    shares = amm.floor_to((ra * rb).sqrt(), SHARE_SCALE)
    assume(shares > 0)
    try:
        plan = amm.zap(ra, rb, shares, amount, fee, SCALE, SCALE, SHARE_SCALE)
    except ValueError:
        return
    assert plan.swap_in + plan.deposit_in + plan.leftover == amount
    assert plan.leftover >= 0 and plan.swap_fee >= plan.swap_in * fee
    # The pool after the swap has at least its old k.
    assert (ra + plan.swap_in) * (rb - plan.swap_out) >= ra * rb


def test_break_even_days():
    """−5.7191 % at 20 % APR takes 104.4 days of yield to earn back; no yield: never."""
    il = amm.impermanent_loss(Decimal(2))
    assert amm.break_even_days(il, Decimal("0.20")) == Decimal("104.4")
    assert amm.break_even_days(il, Decimal(0)) is None
    assert amm.break_even_days(Decimal(0), Decimal("0.1")) == 0
