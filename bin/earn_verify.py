#!/usr/bin/env python3
"""Check your Earn interest yourself, offline, with nothing but Python 3.10+ (standard library only).

    curl -H "Authorization: Token …" "https://…/api/v1/positions/42/accruals?format=proof" > proof.json
    python3 earn_verify.py accruals proof.json      # or: python3 earn_verify.py proof.json, or "-" for stdin

For every day of the proof it recomputes, from that day's inputs alone, what the service says it did:

    yearly    = Σ over the tiers of max(min(base, upper) − lower, 0) × apr      (marginal tiers; upper null = ∞)
    exact     = round_down(yearly / day_count_basis, 18 decimals)
    apr       = round_down(yearly / base, 18 decimals)                           (the blended rate recorded)
    posted    = round_down(exact + carry_in, the asset's decimals)               (what was credited)
    carry_out = exact + carry_in − posted                                        (nothing is lost)

and checks that each day's carry_in is the previous day's carry_out (0 on the first day), that the base is
the sum of the position's changes effective on or before the day, and the totals. Rounding is towards zero
(ROUND_DOWN) and nothing else is rounded: the arithmetic keeps 100 significant digits.

Prints each mismatch and a one-line summary; exits 0 when every day agrees, 1 on any mismatch, 2 when the
file cannot be read as a proof.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext
from typing import Any

FORMAT = "earn-accrual-proof/1"
PRECISION = 100
EXACT = Decimal(1).scaleb(-18)


class ProofError(Exception):
    """The document is not a proof this script understands."""


def _dec(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProofError(f"{where}: expected a decimal string, got {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ProofError(f"{where}: not a decimal: {value!r}") from None
    if not number.is_finite():
        raise ProofError(f"{where}: not a finite decimal: {value!r}")
    return number


def _show(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 0.13698630000 → 0.1369863."""
    return format(value.normalize(), "f") if value else "0"


def yearly_interest(base: Decimal, tiers: Iterable[tuple[Decimal, Decimal | None, Decimal]]) -> Decimal:
    total = Decimal(0)
    for lower, upper, apr in sorted(tiers, key=lambda t: t[0]):
        if base <= lower:
            break
        top = base if upper is None else min(base, upper)
        total += (top - lower) * apr
    return total


def recompute(base: Decimal, tiers: list[tuple[Decimal, Decimal | None, Decimal]], basis: int,
              carry_in: Decimal, scale: int) -> dict[str, Decimal]:
    """One day, from its inputs: exact, apr, posted and carry_out."""
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = PRECISION, ROUND_DOWN
        yearly = yearly_interest(base, tiers)
        exact = (yearly / Decimal(basis)).quantize(EXACT, rounding=ROUND_DOWN)
        apr = (yearly / base).quantize(EXACT, rounding=ROUND_DOWN) if base > 0 else Decimal(0)
        owed = exact + carry_in
        posted = owed.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_DOWN)
        return {"exact": exact, "apr": apr, "posted": posted, "carry_out": owed - posted}


def verify_accruals(proof: Any) -> tuple[list[str], str]:
    """(mismatches, summary) of a proof document."""
    if not isinstance(proof, dict) or proof.get("format") != FORMAT:
        raise ProofError(f"not an accrual proof (expected \"format\": \"{FORMAT}\")")
    scale = proof.get("scale")
    days = proof.get("days")
    if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= 18 or not isinstance(days, list):
        raise ProofError("a proof has an integer \"scale\" (0–18) and a list of \"days\"")
    changes = []
    for i, change in enumerate(proof.get("changes") or []):
        if not isinstance(change, dict):
            raise ProofError(f"changes[{i}]: expected an object")
        changes.append((str(change.get("effective_date")), _dec(change.get("amount"), f"changes[{i}].amount")))
    check_base = "changes" in proof
    mismatches: list[str] = []
    previous_carry, previous_date = Decimal(0), ""
    total_posted = Decimal(0)

    def differs(day: str, name: str, stated: Decimal, expected: Decimal) -> None:
        if stated != expected:
            mismatches.append(f"{day} {name}: stated {_show(stated)}, recomputed {_show(expected)}")

    for i, day in enumerate(days):
        if not isinstance(day, dict):
            raise ProofError(f"days[{i}]: expected an object")
        date = str(day.get("date"))
        where = f"days[{i}] ({date})"
        if date <= previous_date:
            mismatches.append(f"{date} date: not after the previous day {previous_date}")
        basis = day.get("day_count_basis")
        if not isinstance(basis, int) or isinstance(basis, bool) or basis <= 0:
            raise ProofError(f"{where}: day_count_basis must be a positive integer, got {basis!r}")
        tiers = []
        for j, tier in enumerate(day.get("tiers") or []):
            if not isinstance(tier, dict):
                raise ProofError(f"{where}.tiers[{j}]: expected an object")
            upper = tier.get("upper")
            tiers.append((_dec(tier.get("lower"), f"{where}.tiers[{j}].lower"),
                          None if upper is None else _dec(upper, f"{where}.tiers[{j}].upper"),
                          _dec(tier.get("apr"), f"{where}.tiers[{j}].apr")))
        base = _dec(day.get("base"), f"{where}.base")
        carry_in = _dec(day.get("carry_in"), f"{where}.carry_in")
        stated = {name: _dec(day.get(name), f"{where}.{name}") for name in ("exact", "posted", "carry_out")}
        differs(date, "carry_in (the previous day's carry_out)", carry_in, previous_carry)
        if check_base:
            with localcontext() as ctx:
                ctx.prec = PRECISION
                held = sum((amount for effective, amount in changes if effective <= date), Decimal(0))
            differs(date, "base (the changes effective by then)", base, held)
        expected = recompute(base, tiers, basis, carry_in, scale)
        for name in ("exact", "posted", "carry_out"):
            differs(date, name, stated[name], expected[name])
        if day.get("apr") is not None:
            differs(date, "apr", _dec(day.get("apr"), f"{where}.apr"), expected["apr"])
        previous_carry, previous_date = stated["carry_out"], date
        total_posted += stated["posted"]
    totals = proof.get("totals")
    if isinstance(totals, dict):
        if "days" in totals and totals["days"] != len(days):
            mismatches.append(f"totals days: stated {totals['days']!r}, counted {len(days)}")
        if "posted" in totals:
            differs("totals", "posted", _dec(totals["posted"], "totals.posted"), total_posted)
        if "carry" in totals:
            differs("totals", "carry", _dec(totals["carry"], "totals.carry"), previous_carry)
    label = f"position {proof.get('position')} ({proof.get('asset')}, {scale} decimals)"
    verdict = "every day agrees" if not mismatches else f"{len(mismatches)} mismatch(es)"
    summary = f"{label}: {len(days)} day(s) checked, posted total {_show(total_posted)}; {verdict}"
    return mismatches, summary


def _load(path: str) -> Any:
    if path == "-":
        return json.load(sys.stdin, parse_float=str, parse_int=int)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle, parse_float=str, parse_int=int)


COMMANDS = {"accruals": verify_accruals}
USAGE = "usage: earn_verify.py [accruals] PROOF.json|-"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args and args[0] in COMMANDS else "accruals"
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(__doc__ if args[:1] in (["-h"], ["--help"]) else USAGE, file=sys.stderr)
        return 0 if args[:1] in (["-h"], ["--help"]) else 2
    try:
        mismatches, summary = COMMANDS[command](_load(args[0]))
    except (OSError, ValueError, ProofError) as exc:
        print(f"earn_verify: cannot check {args[0]}: {exc}", file=sys.stderr)
        return 2
    for line in mismatches:
        print(f"MISMATCH {line}")
    print(summary)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
