"""Which product categories a customer may be offered: resolving the category rules in force (no Django here).

A rule is a mapping with the `CategoryRule` fields the decision needs (`jurisdiction`, `category`,
`investor_class`, `permitted`, `max_risk_rating`, `requires_assessment`). The callers pass the rules in force
(the latest version of each jurisdiction, category and class at their clock); this module only decides, so the
gate, the catalogue and the admin's preview give the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_JURISDICTION = "*"
RETAIL, PROFESSIONAL = "retail", "professional"

Rule = Mapping[str, Any]


def investor_class(professional: bool | None) -> str:
    """Professional where the compliance profile says so; everyone else (no profile included) is retail."""
    return PROFESSIONAL if professional else RETAIL


@dataclass(frozen=True)
class Decision:
    permitted: bool
    requires_assessment: bool = False
    rule: Rule | None = None  # the rule that decided; None: no rule, permitted

    def allows(self, risk_rating: int) -> bool:
        """Permitted, and the product's rating within the rule's highest (if it sets one)."""
        if not self.permitted:
            return False
        cap = self.rule.get("max_risk_rating") if self.rule else None
        return cap is None or risk_rating <= cap


ALLOWED = Decision(permitted=True)


class CategoryAccess:
    """The rules in force for one customer (country, investor class), indexed for repeated questions."""

    def __init__(self, rules: Iterable[Rule], *, country: str, professional: bool | None) -> None:
        self.country = (country or "").upper()
        self.investor_class = investor_class(professional)
        self._by_key: dict[tuple[str, str], Rule] = {}
        for rule in rules:
            if rule["investor_class"] != self.investor_class:
                continue
            if rule["jurisdiction"] not in (self.country, DEFAULT_JURISDICTION):
                continue
            self._by_key[(rule["jurisdiction"], rule["category"])] = rule

    @property
    def any_assessment(self) -> bool:
        """Whether some category rule of this customer asks for a passed assessment (the gate loads attempts)."""
        return any(rule["permitted"] and rule["requires_assessment"] for rule in self._by_key.values())

    def decision(self, category: str) -> Decision:
        """The country's own rule, else the default rule, else permitted without conditions."""
        rule = self._by_key.get((self.country, category)) if self.country else None
        if rule is None:
            rule = self._by_key.get((DEFAULT_JURISDICTION, category))
        if rule is None:
            return ALLOWED
        return Decision(permitted=bool(rule["permitted"]), requires_assessment=bool(rule["requires_assessment"]),
                        rule=rule)

    def allows(self, category: str, risk_rating: int) -> bool:
        return self.decision(category).allows(risk_rating)

    def offered(self, categories: Iterable[str]) -> dict[str, int | None] | None:
        """{category: highest rating offered (None: any)} for the categories offered at all; None when every
        category is offered at any rating (no filter needed)."""
        out: dict[str, int | None] = {}
        restricted = False
        for category in categories:
            decision = self.decision(category)
            if not decision.permitted:
                restricted = True
                continue
            cap = decision.rule.get("max_risk_rating") if decision.rule else None
            restricted = restricted or cap is not None
            out[category] = cap
        return out if restricted else None


def latest_per_key(rules: Iterable[Rule]) -> list[Rule]:
    """The rules in force from rows already limited to `effective_from` <= now: the newest per
    (jurisdiction, category, investor class)."""
    newest: dict[tuple[str, str, str], Rule] = {}
    for rule in rules:
        key = (rule["jurisdiction"], rule["category"], rule["investor_class"])
        if key not in newest or rule["effective_from"] > newest[key]["effective_from"]:
            newest[key] = rule
    return list(newest.values())
