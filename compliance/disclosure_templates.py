"""The sections a disclosure must carry for its product's category (issue 21): the drafter's template.

A lending disclosure says who borrows and against what collateral; a staking one the chain, the validators,
lock-up and unbonding, slashing and whether it is compensated; a liquidity-mining one the venue, the pair,
the fee tier, the reward token, impermanent loss and the smart-contract audit; a structured product its
underlying, payoff and worst case. Every section is required in English and Traditional Chinese before a
version can be approved (`compliance.services.disclosures.disclosure_approve`).

Categories are earn's `Category` values, named here by string (compliance sits below earn).
Titles are what customers read above each section; guidance is for the drafter only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

LANGUAGES = ("en", "zh-hant")


@dataclass(frozen=True)
class Section:
    key: str
    title: StrOrPromise
    guidance: StrOrPromise


LENDING = (
    Section("borrowers", _("Who borrows your assets"),
            _("Name the borrowers or the kind of borrower (e.g. institutional margin traders), how they are vetted "
              "and the limits per borrower.")),
    Section("collateral", _("Collateral"),
            _("What the loans are secured against, the collateral ratio, how it is valued and when it is "
              "liquidated; say so plainly if loans are unsecured.")),
)
STAKING = (
    Section("chain", _("Chain"), _("The network the assets are staked on and the asset staked.")),
    Section("validators", _("Validators"),
            _("Who runs the validators (the exchange or named third parties), how many, and how they are chosen.")),
    Section("lock_up_unbonding", _("Lock-up and unbonding"),
            _("How long the assets are locked, the network's unbonding period, and when a redemption is paid.")),
    Section("slashing", _("Slashing"),
            _("What slashing is on this chain, what may trigger it, how much can be lost, and whether the "
              "customer is compensated (by whom, up to what).")),
)
LIQUIDITY_MINING = (
    Section("venue", _("Venue"), _("The exchange or protocol the pool runs on, and the chain.")),
    Section("pair", _("Pair"), _("The two assets of the pool and how deposits are split between them.")),
    Section("fee_tier", _("Fee tier"), _("The pool's trading fee and how the fees reach the customer.")),
    Section("reward_token", _("Reward token"),
            _("The token rewards are paid in, how they are emitted, and that its price can fall.")),
    Section("impermanent_loss", _("Impermanent loss"),
            _("How price moves between the two assets reduce the value against holding them, with a worked "
              "example.")),
    Section("smart_contract_audit", _("Smart-contract audit"),
            _("Who audited the pool's contracts and when, the findings still open, and that an audit does not "
              "remove the risk of an exploit.")),
)
STRUCTURED = (
    Section("underlying", _("Underlying"), _("The asset or index the payoff depends on and its price source.")),
    Section("payoff", _("Payoff"),
            _("What the customer receives in each scenario at maturity, with the strike or barrier levels.")),
    Section("worst_case", _("Worst case"),
            _("The worst outcome in plain words: how much can be lost and in which asset the customer is paid.")),
)

TEMPLATES: dict[str, tuple[Section, ...]] = {
    "lending": LENDING,
    "staking": STAKING,
    "liquidity_mining": LIQUIDITY_MINING,
    "structured": STRUCTURED,
}


def template(category: str) -> tuple[Section, ...]:
    """The required sections of a category, in the order customers read them (none for an unknown category)."""
    return TEMPLATES.get(category or "", ())


def section_title(key: str, category: str) -> StrOrPromise:
    """A section's title in its category's template; the key itself when the template has no such section."""
    for section in template(category):
        if section.key == key:
            return section.title
    return key.replace("_", " ")


def missing_sections(category: str, sections: Mapping[str, Any] | None) -> list[str]:
    """`key.language` of every required section that is empty in English or Traditional Chinese, in template
    order, e.g. ["collateral.zh-hant", "borrowers.en"] — what an approval refuses on."""
    sections = sections or {}
    missing = []
    for section in template(category):
        text = sections.get(section.key) or {}
        for language in LANGUAGES:
            if not str(text.get(language) or "").strip():
                missing.append(f"{section.key}.{language}")
    return missing


def ordered_keys(category: str, sections: Mapping[str, Any]) -> list[str]:
    """The keys of `sections` in template order, then any other key (alphabetically) so nothing is hidden."""
    known = [s.key for s in template(category) if s.key in sections]
    return known + sorted(set(sections) - set(known))
