"""Reads of the product-category rules: the rules in force, a customer's access, and a change's preview."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import Expression
from django.db.models.functions import JSONObject, Upper
from django.utils import timezone

from accounts.models import KycStatus
from compliance.category_rules import DEFAULT_JURISDICTION, CategoryAccess, investor_class
from compliance.models import CategoryRule, CustomerProfile, ProductCategory

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

RULE_FIELDS = ("jurisdiction", "category", "investor_class", "permitted", "max_risk_rating", "requires_assessment")


def rules_in_force(at: dt.datetime | None = None) -> QuerySet[CategoryRule]:
    """The version of each (jurisdiction, category, investor class) in force at `at`: the latest `effective_from`
    not after it. Rows scheduled later, and versions they replaced, are left out."""
    at = at or timezone.now()
    return (CategoryRule.objects.filter(effective_from__lte=at)
            .order_by("jurisdiction", "category", "investor_class", "-effective_from")
            .distinct("jurisdiction", "category", "investor_class"))


def rules_for_country_subquery(country: Expression | str, at: dt.datetime) -> ArraySubquery:
    """The rules in force for one country and the defaults, as an array of JSON objects: an annotation, so the
    gate reads them in the query it already makes for the customer's facts."""
    rows = rules_in_force(at).filter(Q(jurisdiction=country) | Q(jurisdiction=DEFAULT_JURISDICTION))
    return ArraySubquery(rows.values(rule=JSONObject(**{f: F(f) for f in RULE_FIELDS})))


def professional_subquery() -> Subquery:
    return Subquery(CustomerProfile.objects.filter(user=OuterRef("pk")).values("professional_investor")[:1])


def category_access(user: User | AnonymousUser | None, at: dt.datetime | None = None) -> CategoryAccess:
    """What `user` may be offered, in one query: verified residence and investor class read from the database
    (as the gate does), with the rules in force. A visitor, or a customer whose residence is not verified,
    gets the default rules as a retail customer."""
    at = at or timezone.now()
    if user is None or not user.is_authenticated:
        return CategoryAccess(_default_rules(at), country="", professional=False)
    facts = (get_user_model().objects.filter(pk=user.pk)
             .annotate(professional=professional_subquery(),
                       rules=rules_for_country_subquery(Upper(OuterRef("country")), at))
             .values_list("country", "kyc_status", "professional", "rules").first())
    if facts is None:
        return CategoryAccess(_default_rules(at), country="", professional=False)
    country, kyc_status, professional, rules = facts
    if kyc_status != KycStatus.VERIFIED:
        country, professional = "", False
    return CategoryAccess(rules or [], country=country or "", professional=professional)


def _default_rules(at: dt.datetime) -> list[dict[str, Any]]:
    return list(rules_in_force(at).filter(jurisdiction=DEFAULT_JURISDICTION).values(*RULE_FIELDS))


def offered_filter(access: CategoryAccess) -> Q | None:
    """A filter on products' plain fields (`category`, `risk_rating`) keeping what `access` may be offered;
    None when nothing is restricted."""
    offered = access.offered(ProductCategory.values)
    if offered is None:
        return None
    condition = Q(pk__in=[])  # nothing, unless a category below is offered
    for category, cap in offered.items():
        condition |= Q(category=category) if cap is None else Q(category=category, risk_rating__lte=cap)
    return condition


# --- Preview of a change (the admin's confirm page) -------------------------------------------------------

def rule_change_preview(*, jurisdiction: str, category: str, investor_class_: str, permitted: bool,
                        max_risk_rating: int | None, requires_assessment: bool,
                        effective_from: dt.datetime) -> dict[str, Any]:
    """Who a new version of a rule would affect when it takes effect: customers of that residence and class
    (verified), and the open positions they hold in products of that category. Positions stay open whatever
    the rule says; only new subscriptions (and renewals) stop.

    `newly_refused_products` are the live products of the category the new version would stop offering to that
    group while the version in force (or no rule) offers them; `customers_holding` and `open_positions` count
    the group's open positions in products of the category (earn and pool positions)."""
    from compliance.catalogue import catalogue  # the product port (earn fills it)

    users = get_user_model().objects.filter(kyc_status=KycStatus.VERIFIED, is_staff=False)
    if jurisdiction == DEFAULT_JURISDICTION:  # the default reaches countries without a rule of their own
        own = CategoryRule.objects.filter(category=category, investor_class=investor_class_,
                                          effective_from__lte=effective_from).exclude(
            jurisdiction=DEFAULT_JURISDICTION).values("jurisdiction")
        users = users.exclude(country__in=own)
    else:
        users = users.filter(country__iexact=jurisdiction)
    professional = CustomerProfile.objects.filter(user=OuterRef("pk"), professional_investor=True)
    users = users.filter(Exists(professional)) if investor_class_ == "professional" else users.exclude(
        Exists(professional))
    current = CategoryAccess(rules_in_force(effective_from).filter(
        jurisdiction__in=[jurisdiction, DEFAULT_JURISDICTION], investor_class=investor_class_,
        category=category).exclude(effective_from=effective_from).values(*RULE_FIELDS),
        country="" if jurisdiction == DEFAULT_JURISDICTION else jurisdiction,
        professional=investor_class_ == "professional").decision(category)
    new = CategoryAccess([{"jurisdiction": jurisdiction, "category": category, "investor_class": investor_class_,
                           "permitted": permitted, "max_risk_rating": max_risk_rating,
                           "requires_assessment": requires_assessment}],
                         country="" if jurisdiction == DEFAULT_JURISDICTION else jurisdiction,
                         professional=investor_class_ == "professional").decision(category)
    port = catalogue()
    live = port.products_in_category(category)
    newly_refused = [p for p in live if current.allows(p.risk_rating) and not new.allows(p.risk_rating)]
    newly_offered = [p for p in live if new.allows(p.risk_rating) and not current.allows(p.risk_rating)]
    customers = users.count()
    holding = port.open_positions_in_category(category, users)
    return {
        "customers": customers, "customers_holding": holding["customers"], "open_positions": holding["positions"],
        "newly_refused_products": newly_refused, "newly_offered_products": newly_offered,
        "current": current, "new": new, "investor_class": investor_class(investor_class_ == "professional"),
    }
