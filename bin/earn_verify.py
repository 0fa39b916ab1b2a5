#!/usr/bin/env python3
"""Check your Earn interest and that your balance is in the published liabilities, offline, with nothing but
Python 3.10+ (standard library only).

    curl -H "Authorization: Token …" "https://…/api/v1/positions/42/accruals?format=proof" > proof.json
    python3 earn_verify.py accruals proof.json      # or: python3 earn_verify.py proof.json, or "-" for stdin

    curl -H "Authorization: Token …" "https://…/api/v1/liabilities/proof?date=2026-03-02" > liabilities.json
    python3 earn_verify.py inclusion liabilities.json --root USDT=<root published for that day> [--total USDT=N]

Accruals: for every day of the proof it recomputes, from that day's inputs alone, what the service says it did:

    yearly    = Σ over the tiers of max(min(base, upper) − lower, 0) × apr      (marginal tiers; upper null = ∞)
    exact     = round_down(yearly / day_count_basis, 18 decimals)
    apr       = round_down(yearly / base, 18 decimals)                           (the blended rate recorded)
    posted    = round_down(exact + carry_in, the asset's decimals)               (what was credited)
    carry_out = exact + carry_in − posted                                        (nothing is lost)

and checks that each day's carry_in is the previous day's carry_out (0 on the first day), that the base is
the sum of the position's changes effective on or before the day, and the totals. Rounding is towards zero
(ROUND_DOWN) and nothing else is rounded: the arithmetic keeps 100 significant digits.

Inclusion: for each asset of a liabilities proof it recomputes your leaf from your salt, leaf id and balance
(in the asset's smallest unit; the balance by account must add up to it), then climbs the path to the root:

    leaf = SHA-256("earn-liability-leaf/1|" salt "|" leaf_id "|" asset "|" units)              (UTF-8 text)
    node = SHA-256("earn-liability-node/1" ‖ left.hash ‖ left.sum ‖ right.hash ‖ right.sum)    (sums: 32-byte
           big-endian), node sum = left.sum + right.sum; every sum a non-negative integer

and checks that it reaches the root and total stated in the proof, and the ones you pass with --root and
--total (copy them from the published roots: `ASSET=value`, or just the value when the proof has one asset).

Prints each mismatch and a one-line summary; exits 0 when everything agrees, 1 on any mismatch, 2 when the
file cannot be read as a proof.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable
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


INCLUSION_FORMAT = "earn-liability-proof/1"
LEAF_PREFIX = "earn-liability-leaf/1"
NODE_PREFIX = b"earn-liability-node/1"
SUM_BYTES = 32


def _units(value: Any, where: str) -> int:
    """A non-negative integer written as a decimal string (or a JSON integer)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).isdigit():
        raise ProofError(f"{where}: expected a non-negative integer, got {value!r}")
    number = int(value)
    if number.bit_length() > SUM_BYTES * 8:
        raise ProofError(f"{where}: too large: {value!r}")
    return number


def _hex32(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise ProofError(f"{where}: expected 64 hex digits, got {value!r}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ProofError(f"{where}: not hex: {value!r}") from None


def liability_leaf(salt_hex: str, leaf_id: str, asset: str, units: int) -> bytes:
    return hashlib.sha256(f"{LEAF_PREFIX}|{salt_hex}|{leaf_id}|{asset}|{units}".encode()).digest()


def liability_node(left: tuple[bytes, int], right: tuple[bytes, int]) -> tuple[bytes, int]:
    body = NODE_PREFIX + left[0] + left[1].to_bytes(SUM_BYTES, "big") + right[0] + right[1].to_bytes(SUM_BYTES, "big")
    return hashlib.sha256(body).digest(), left[1] + right[1]


def _expected(options: list[str], assets: list[str], name: str) -> dict[str, str]:
    """--root/--total values by asset: `ASSET=value`, or a bare value when the proof has one asset."""
    out: dict[str, str] = {}
    for option in options:
        asset, sep, value = option.partition("=")
        if not sep:
            if len(assets) != 1:
                raise ProofError(f"--{name} {option!r}: the proof has {len(assets)} assets; write ASSET={option}")
            asset, value = assets[0], option
        out[asset.strip().upper()] = value.strip()
    return out


def verify_inclusion(proof: Any, roots: list[str] | None = None,
                     totals: list[str] | None = None) -> tuple[list[str], str]:
    """(mismatches, summary) of a liabilities inclusion proof, against the roots and totals given."""
    if not isinstance(proof, dict) or proof.get("format") != INCLUSION_FORMAT:
        raise ProofError(f"not a liabilities proof (expected \"format\": \"{INCLUSION_FORMAT}\")")
    leaf_id, assets = proof.get("leaf_id"), proof.get("assets")
    if not isinstance(leaf_id, str) or not leaf_id or not isinstance(assets, list):
        raise ProofError("a liabilities proof has a \"leaf_id\" and a list of \"assets\"")
    codes = [str(a.get("asset")) for a in assets if isinstance(a, dict)]
    want_roots = _expected(roots or [], codes, "root")
    want_totals = _expected(totals or [], codes, "total")
    mismatches: list[str] = []
    lines = []
    for i, item in enumerate(assets):
        if not isinstance(item, dict) or not isinstance(item.get("leaf"), dict) or \
                not isinstance(item.get("path"), list):
            raise ProofError(f"assets[{i}]: expected an object with a \"leaf\" and a \"path\"")
        asset, scale, leaf = str(item.get("asset")), item.get("scale"), item["leaf"]
        if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= 18:
            raise ProofError(f"assets[{i}]: \"scale\" must be an integer 0–18")
        where = f"{asset}"
        unit = Decimal(1).scaleb(-scale)
        units = _units(leaf.get("units"), f"{where} leaf.units")
        with localcontext() as ctx:
            ctx.prec = PRECISION
            balance = _dec(leaf.get("balance"), f"{where} leaf.balance")
            if balance != Decimal(units) * unit:
                mismatches.append(f"{where} leaf balance: stated {_show(balance)}, its units say "
                                  f"{_show(Decimal(units) * unit)}")
            by_kind = leaf.get("by_kind") or {}
            if not isinstance(by_kind, dict):
                raise ProofError(f"{where} leaf.by_kind: expected an object")
            parts = {kind: _dec(value, f"{where} leaf.by_kind.{kind}") for kind, value in by_kind.items()}
            for kind, value in parts.items():
                if value < 0:
                    mismatches.append(f"{where} {kind}: negative ({_show(value)})")
            if parts and sum(parts.values(), Decimal(0)) != balance:
                mismatches.append(f"{where} balance by account: adds up to {_show(sum(parts.values(), Decimal(0)))}, "
                                  f"not {_show(balance)}")
        salt = leaf.get("salt")
        if not isinstance(salt, str) or not salt or any(c not in "0123456789abcdef" for c in salt):
            raise ProofError(f"{where} leaf.salt: expected lower-case hex")
        current = (liability_leaf(salt, leaf_id, asset, units), units)
        if leaf.get("hash") is not None and _hex32(leaf.get("hash"), f"{where} leaf.hash") != current[0]:
            mismatches.append(f"{where} leaf hash: stated {leaf.get('hash')}, recomputed {current[0].hex()}")
        for j, step in enumerate(item["path"]):
            if not isinstance(step, dict) or step.get("side") not in ("L", "R"):
                raise ProofError(f"{where} path[{j}]: expected {{\"side\": \"L\"|\"R\", \"hash\", \"sum\"}}")
            sibling = (_hex32(step.get("hash"), f"{where} path[{j}].hash"),
                       _units(step.get("sum"), f"{where} path[{j}].sum"))
            current = liability_node(sibling, current) if step["side"] == "L" else liability_node(current, sibling)
        root_hex, total_units = current[0].hex(), current[1]
        total = Decimal(total_units) * unit
        stated_root = str(item.get("root"))
        if stated_root != root_hex:
            mismatches.append(f"{where} root: the path reaches {root_hex}, the proof states {stated_root}")
        stated_units = item.get("total_units")
        if stated_units is not None and _units(stated_units, f"{where} total_units") != total_units:
            mismatches.append(f"{where} total: the path adds up to {total_units} units, the proof states "
                              f"{item.get('total_units')}")
        if asset in want_roots and want_roots[asset].lower() != root_hex:
            mismatches.append(f"{where} root: the path reaches {root_hex}, the published root is {want_roots[asset]}")
        if asset in want_totals and _dec(want_totals[asset], f"--total {asset}") != total:
            mismatches.append(f"{where} total: the path adds up to {_show(total)}, the published total is "
                              f"{want_totals[asset]}")
        checked = " and the published root" if asset in want_roots else ""
        lines.append(f"{asset} {_show(Decimal(units) * unit)} in root {root_hex[:16]}… (total {_show(total)}"
                     f"{checked})")
    for asset in sorted(set(want_roots) | set(want_totals)):
        if asset not in codes:
            mismatches.append(f"{asset}: no leaf of yours in the proof, but a published root/total was given for it")
    verdict = "included" if not mismatches else f"{len(mismatches)} mismatch(es)"
    summary = f"{leaf_id} on {proof.get('date')}: {len(assets)} asset(s) checked" + \
        ("".join(f"; {line}" for line in lines)) + f"; {verdict}"
    return mismatches, summary


def _inclusion_main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="earn_verify.py inclusion",
                                     description="Check that your balance is in the published liabilities.")
    parser.add_argument("proof", help="the proof (JSON file, or - for stdin)")
    parser.add_argument("--root", action="append", default=[], help="the published root: ASSET=HEX (repeatable)")
    parser.add_argument("--total", action="append", default=[], help="the published total: ASSET=N (repeatable)")
    options = parser.parse_args(args)
    return _report(options.proof, lambda proof: verify_inclusion(proof, options.root, options.total))


def _report(path: str, check: Callable[[Any], tuple[list[str], str]]) -> int:
    """Run `check` on the proof at `path` and print what it found: 0 all agree, 1 a mismatch, 2 no proof."""
    try:
        mismatches, summary = check(_load(path))
    except (OSError, ValueError, ProofError) as exc:
        print(f"earn_verify: cannot check {path}: {exc}", file=sys.stderr)
        return 2
    except RecursionError:  # JSON nested deeper than the parser goes: no proof is
        print(f"earn_verify: cannot check {path}: nested too deeply to be a proof", file=sys.stderr)
        return 2
    except ArithmeticError as exc:  # sums past 32 bytes, decimals past the context: no proof has them
        print(f"earn_verify: cannot check {path}: a number out of range ({type(exc).__name__})", file=sys.stderr)
        return 2
    for line in mismatches:
        print(f"MISMATCH {line}")
    print(summary)
    return 1 if mismatches else 0


COMMANDS = {"accruals": verify_accruals}
USAGE = ("usage: earn_verify.py [accruals] PROOF.json|-\n"
         "       earn_verify.py inclusion PROOF.json|- [--root ASSET=HEX] [--total ASSET=N]")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "inclusion":
        return _inclusion_main(args[1:])
    command = args.pop(0) if args and args[0] in COMMANDS else "accruals"
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(__doc__ if args[:1] in (["-h"], ["--help"]) else USAGE, file=sys.stderr)
        return 0 if args[:1] in (["-h"], ["--help"]) else 2
    return _report(args[0], COMMANDS[command])


if __name__ == "__main__":
    sys.exit(main())
