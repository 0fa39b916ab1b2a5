"""Writes for risk disclosures: draft a version, edit a draft, approve (maker ≠ checker), reject.

A version's content is frozen once approved; approving a new version supersedes the current one
(kept forever), so acknowledgements always point at exactly what was shown. A version carries the sections
its product's category requires (compliance.disclosure_templates); drafts may leave them empty, approval
refuses until each has English and Traditional Chinese text (checked under the product lock, against the
product's category at that moment, so no path skips it).
Lock order: the product row first (as product administration does, earn.lock_objects), then disclosure rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.catalogue import CLOSED, catalogue
from compliance.disclosure_templates import LANGUAGES as SECTION_LANGUAGES
from compliance.disclosure_templates import missing_sections, template
from compliance.gate import product_kind
from compliance.models import Disclosure, DisclosureStatus, ProductKind
from compliance.signals import disclosure_published
from core.audit import audit_record
from core.errors import (
    Conflict,
    InvalidTransition,
    MakerCheckerViolation,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from core.models import AuditEvent

if TYPE_CHECKING:
    from accounts.models import User


class InvalidDisclosure(ValidationFailed):
    default_code = "INVALID_DISCLOSURE"


class DisclosureIncomplete(Conflict):
    """A required section of the product's category is empty in English or Traditional Chinese (409);
    `missing` lists them as `key.language`."""

    default_code = "DISCLOSURE_INCOMPLETE"


# The clause appended to each body unless it is already there, word for word.
PREVAILING_CLAUSE_EN = ("This disclosure is given in English and Traditional Chinese. If the two versions differ, "
                        "the English version prevails.")
PREVAILING_CLAUSE_ZH_HANT = "本披露文件以英文及繁體中文提供。兩個版本如有任何歧義或不一致，概以英文版本為準。"

# Statements every disclosure of a matching product carries (compliance-approved wording).
STANDARD_RISKS: dict[str, dict[str, Any]] = {
    "impermanent_loss": {
        "en": "Impermanent loss: your assets sit in a liquidity pool whose mix shifts as prices move. If one "
              "asset's price changes against the other, you may withdraw less value than if you had simply held "
              "them, and the loss becomes permanent when you redeem.",
        "zh-hant": "無常損失：您的資產存放於流動性池中，池內資產比例會隨價格變動而調整。若其中一種資產相對另一種"
                   "資產的價格出現變動，您贖回時取得的價值可能低於單純持有該等資產的價值，而該損失會在贖回時成為"
                   "永久損失。",
    },
    "smart_contract": {
        "en": "Smart-contract and counterparty risk: the yield depends on third-party protocols, smart contracts "
              "or borrowers. A software flaw, an exploit, an oracle failure or a counterparty default could cause "
              "the partial or total loss of your assets.",
        "zh-hant": "智能合約及交易對手風險：收益依賴第三方協議、智能合約或借款人。軟件漏洞、遭受攻擊、預言機失效或"
                   "交易對手違約，均可能導致您部分或全部資產損失。",
    },
    "lock_up": {
        "en": "Lock-up: your assets are locked for the whole term. You may not be able to redeem early, and where "
              "early redemption is allowed you may lose interest or pay a penalty.",
        "zh-hant": "鎖定期：您的資產在整個產品期限內均被鎖定。您可能無法提前贖回；即使容許提前贖回，您亦可能損失"
                   "利息或須支付罰息。",
    },
    "no_deposit_protection": {
        "en": "No deposit protection: this product is not a bank deposit and is not protected by any deposit "
              "insurance or investor compensation scheme.",
        "zh-hant": "不受存款保障：本產品並非銀行存款，不受任何存款保險或投資者賠償計劃保障。",
        # The wording a customer resident in these countries reads instead (their own protection schemes).
        "jurisdictions": {
            "HK": {
                "en": "No deposit protection: this product is not a bank deposit and is not protected by the Hong "
                      "Kong Deposit Protection Scheme or any other deposit insurance or investor compensation "
                      "scheme.",
                "zh-hant": "不受存款保障：本產品並非銀行存款，不受香港存款保障計劃或任何其他存款保險或投資者賠償"
                           "計劃保障。",
            },
            "GB": {
                "en": "No protection: this product is not a bank deposit. It is not covered by the Financial "
                      "Services Compensation Scheme (FSCS), and you are unlikely to have access to the Financial "
                      "Ombudsman Service if something goes wrong.",
                "zh-hant": "不受保障：本產品並非銀行存款，不受英國金融服務補償計劃（FSCS）保障；"
                           "如出現問題，您亦不大可能獲得金融申訴專員服務（Financial Ombudsman Service）"
                           "的協助。",
            },
        },
    },
    "rates_can_change": {
        "en": "Rates can change: the APR shown is not guaranteed. Rates of flexible products, and of new "
              "subscriptions and renewals of fixed-term products, may change at any time; past rates do not "
              "indicate future returns.",
        "zh-hant": "利率可能變動：所示年化利率並無保證。活期產品的利率，以及定期產品新認購及續期所適用的利率，"
                   "均可隨時變動；過往利率並不代表未來回報。",
    },
}
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
SECTION_MAX_CHARS = 20000


def standard_risk_keys(product: Any) -> list[str]:
    """Which standard statements apply: impermanent loss for liquidity mining, lock-up for fixed terms."""
    keys = []
    kind = product_kind(product)
    if kind == ProductKind.LIQUIDITY_MINING:
        keys.append("impermanent_loss")
    keys.append("smart_contract")
    if kind == ProductKind.FIXED:
        keys.append("lock_up")
    keys += ["no_deposit_protection", "rates_can_change"]
    return keys


def standard_risk_statements(product: Any) -> list[dict[str, Any]]:
    return [{"key": key, **STANDARD_RISKS[key]} for key in standard_risk_keys(product)]


def _canonical_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    out = {"key": statement["key"], "en": statement["en"], "zh-hant": statement["zh-hant"]}
    if statement.get("jurisdictions"):  # only when present, so versions without sections keep their hash
        out["jurisdictions"] = {c: {"en": t["en"], "zh-hant": t["zh-hant"]}
                                for c, t in sorted(statement["jurisdictions"].items())}
    return out


def disclosure_content_hash(*, body_en: str, body_zh_hant: str, risk_statements: Sequence[Mapping[str, Any]],
                            sections: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """sha256 of the canonical content (both bodies, every statement with its per-jurisdiction wording, and the
    sections in both languages), stable across key order. Sections join the payload only when there are some,
    so versions drafted before sections keep their hash."""
    payload: dict[str, Any] = {"body_en": body_en, "body_zh_hant": body_zh_hant,
                               "risk_statements": [_canonical_statement(s) for s in risk_statements]}
    if sections:
        payload["sections"] = {key: {"en": text["en"], "zh-hant": text["zh-hant"]} for key, text in sections.items()}
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _jurisdiction_sections(raw: Any, field: str) -> dict[str, dict[str, str]]:
    """{country: {en, zh-hant}}: a statement's wording for customers resident in that country, in both languages."""
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidDisclosure(_("Per-country wording is {country: {en, zh-hant}}."), field=field)
    out = {}
    for country, text in raw.items():
        code = str(country).strip().upper()
        if not re.match(r"^[A-Z]{2}$", code) or not isinstance(text, Mapping):
            raise InvalidDisclosure(_("Per-country wording is {country: {en, zh-hant}}."), field=field)
        en, zh = str(text.get("en", "")).strip(), str(text.get("zh-hant", text.get("zh_hant", ""))).strip()
        if not en or not zh:
            raise InvalidDisclosure(_("Each country's wording needs English and Traditional Chinese text."),
                                    field=f"{field}.{code}")
        out[code] = {"en": en, "zh-hant": zh}
    return out


def product_category(product: Any) -> str:
    """The product's category (a plain field of earn's product, read as compliance reads `strategy`)."""
    return str(getattr(product, "category", "") or "")


def _section_items(raw: Any) -> list[tuple[str, Any]]:
    """(key, {en, zh-hant}) pairs from {key: {en, zh-hant}} or [{key, en, zh-hant}] (the staff API's shape)."""
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        return [(str(key), text) for key, text in raw.items()]
    if isinstance(raw, Sequence) and not isinstance(raw, str | bytes):
        items = []
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
                raise InvalidDisclosure(_("Each section is {key, en, zh-hant}."), field=f"sections.{index}")
            items.append((item["key"], item))
        return items
    raise InvalidDisclosure(_("Sections are {key: {en, zh-hant}}."), field="sections")


def clean_sections(category: str, raw: Any) -> dict[str, dict[str, str]]:
    """{key: {en, zh-hant}} with trimmed text, keys of the category's template only; a section empty in both
    languages is left out (a draft may be incomplete; approval checks completeness)."""
    allowed = {s.key for s in template(category)}
    out: dict[str, dict[str, str]] = {}
    for key, text in _section_items(raw):
        field = f"sections.{key}"
        if key not in allowed:
            raise InvalidDisclosure(
                _("“%(key)s” is not a section of a %(category)s product; its sections are: %(keys)s.")
                % {"key": key, "category": category or "?", "keys": ", ".join(sorted(allowed)) or "—"}, field=field)
        if key in out:
            raise InvalidDisclosure(_("Section keys must be unique."), field=field)
        if not isinstance(text, Mapping):
            raise InvalidDisclosure(_("Each section is {en, zh-hant}."), field=field)
        values = {"en": text.get("en"), "zh-hant": text.get("zh-hant", text.get("zh_hant"))}
        if any(v is not None and not isinstance(v, str) for v in values.values()):
            raise InvalidDisclosure(_("Section text is a string."), field=field)
        entry = {language: (values[language] or "").strip() for language in SECTION_LANGUAGES}
        if any(len(v) > SECTION_MAX_CHARS for v in entry.values()):
            raise InvalidDisclosure(_("A section is at most %(n)s characters.") % {"n": SECTION_MAX_CHARS},
                                    field=field)
        if any(entry.values()):
            out[key] = entry
    return {key: out[key] for key in [s.key for s in template(category)] if key in out}


def _with_clause(body: str, clause: str) -> str:
    body = (body or "").strip()
    return body if clause in body else f"{body}\n\n{clause}"


def _content(product: Any, body_en: str, body_zh_hant: str, risk_statements: Sequence[Mapping[str, Any]],
             sections: Any = None) -> dict[str, Any]:
    """Bodies with the prevailing-language clause, own statements first, then the standard ones; the sections
    of the product's category."""
    if not (body_en or "").strip():
        raise InvalidDisclosure(_("The English text is required."), field="body_en")
    if not (body_zh_hant or "").strip():
        raise InvalidDisclosure(_("The Traditional Chinese text is required."), field="body_zh_hant")
    standard = standard_risk_statements(product)
    standard_keys = {s["key"] for s in standard}
    own: list[dict[str, str]] = []
    for index, item in enumerate(risk_statements or []):
        if not isinstance(item, Mapping):
            raise InvalidDisclosure(_("Each risk statement is {key, en, zh-hant}."), field=f"risk_statements.{index}")
        key = str(item.get("key", "")).strip()
        en, zh = str(item.get("en", "")).strip(), str(item.get("zh-hant", item.get("zh_hant", ""))).strip()
        if not KEY_PATTERN.match(key):
            raise InvalidDisclosure(_("A statement key is lower-case letters, digits and underscores."),
                                    field=f"risk_statements.{index}.key")
        if not en or not zh:
            raise InvalidDisclosure(_("Each risk statement needs English and Traditional Chinese text."),
                                    field=f"risk_statements.{index}")
        if key in standard_keys:
            raise InvalidDisclosure(_("“%(key)s” is a standard statement and is added automatically.") % {"key": key},
                                    field=f"risk_statements.{index}.key")
        if key in {s["key"] for s in own}:
            raise InvalidDisclosure(_("Statement keys must be unique."), field=f"risk_statements.{index}.key")
        statement: dict[str, Any] = {"key": key, "en": en, "zh-hant": zh}
        per_country = _jurisdiction_sections(item.get("jurisdictions"), f"risk_statements.{index}.jurisdictions")
        if per_country:
            statement["jurisdictions"] = per_country
        own.append(statement)
    statements = own + standard
    category = product_category(product)
    clean = clean_sections(category, sections)
    body_en = _with_clause(body_en, PREVAILING_CLAUSE_EN)
    body_zh_hant = _with_clause(body_zh_hant, PREVAILING_CLAUSE_ZH_HANT)
    return {"body_en": body_en, "body_zh_hant": body_zh_hant, "risk_statements": statements, "sections": clean,
            "category": category,
            "sha256": disclosure_content_hash(body_en=body_en, body_zh_hant=body_zh_hant, risk_statements=statements,
                                              sections=clean)}


def _authors(disclosure: Disclosure) -> set[int]:
    """The author on the row plus everyone who drafted or edited this version (from the audit trail)."""
    return {disclosure.author_id} | set(AuditEvent.objects.filter(
        object_type=disclosure._meta.label_lower, object_id=str(disclosure.pk),
        action__in=["disclosure.draft", "disclosure.update"], actor__isnull=False).values_list("actor_id", flat=True))


def _require(actor: User, perm: str) -> None:
    if not (getattr(actor, "is_active", False) and getattr(actor, "is_staff", False) and actor.has_perm(perm)):
        raise PermissionDenied(_("You do not have permission to do this."))


def _lock_product(product_id: int) -> Any:
    return catalogue().product_lock(product_id)


def _lock_disclosure(disclosure: Disclosure | int) -> tuple[Any, Disclosure]:
    """Lock the product row, then the disclosure (the service-wide lock order)."""
    pk = disclosure if isinstance(disclosure, int) else disclosure.pk
    product_id = Disclosure.objects.filter(pk=pk).values_list("product_id", flat=True).first()
    if product_id is None:
        raise NotFound(_("No such disclosure."))
    product = _lock_product(product_id)
    return product, Disclosure.objects.select_for_update().get(pk=pk)


def _own_statements(disclosure: Disclosure, product: Any) -> list[dict[str, Any]]:
    standard = set(standard_risk_keys(product))
    return [s for s in disclosure.risk_statements if s["key"] not in standard]


@transaction.atomic
def disclosure_draft(*, actor: User, product: Any, body_en: str, body_zh_hant: str,
                     risk_statements: Sequence[Mapping[str, Any]] = (), sections: Any = None) -> Disclosure:
    """A new draft version (the next number) of a product's disclosure; standard risks are added. `sections`
    ({key: {en, zh-hant}} or [{key, en, zh-hant}]) are those of the product's category; they may be incomplete
    in a draft."""
    _require(actor, "compliance.add_disclosure")
    product = _lock_product(product if isinstance(product, int) else product.pk)
    if product.status == CLOSED:
        raise InvalidTransition(_("A closed product gets no new disclosure."),
                                extra={"status": product.status, "action": "draft_disclosure"})
    content = _content(product, body_en, body_zh_hant, risk_statements, sections)
    version = (Disclosure.objects.filter(product=product).aggregate(v=Max("version"))["v"] or 0) + 1
    disclosure = Disclosure.objects.create(product=product, version=version, status=DisclosureStatus.DRAFT,
                                           author=actor, **content)
    audit_record(actor=actor, action="disclosure.draft", obj=disclosure, before=None,
                 after={"product": product.pk, "version": version, "sha256": disclosure.sha256,
                        "statements": [s["key"] for s in disclosure.risk_statements],
                        "category": disclosure.category, "sections": list(disclosure.sections)})
    return disclosure


@transaction.atomic
def disclosure_update(*, actor: User, disclosure: Disclosure | int, body_en: str | None = None,
                      body_zh_hant: str | None = None,
                      risk_statements: Sequence[Mapping[str, Any]] | None = None,
                      sections: Any = None) -> Disclosure:
    """Edit a draft; the editor becomes its author (and so may not approve it). Sections not given stay as they
    are, checked again against the product's category (which may have changed since the draft)."""
    _require(actor, "compliance.change_disclosure")
    product, disclosure = _lock_disclosure(disclosure)
    if disclosure.status != DisclosureStatus.DRAFT:
        raise InvalidTransition(_("Only a draft disclosure can be edited; draft a new version instead."),
                                extra={"status": disclosure.status, "action": "edit_disclosure"})
    before = {"sha256": disclosure.sha256, "author": disclosure.author_id}
    content = _content(
        product,
        disclosure.body_en if body_en is None else body_en,
        disclosure.body_zh_hant if body_zh_hant is None else body_zh_hant,
        _own_statements(disclosure, product) if risk_statements is None else risk_statements,
        disclosure.sections if sections is None else sections,
    )
    for name, value in content.items():
        setattr(disclosure, name, value)
    disclosure.author = actor
    disclosure.save()
    audit_record(actor=actor, action="disclosure.update", obj=disclosure, before=before,
                 after={"sha256": disclosure.sha256, "author": actor.pk})
    return disclosure


@transaction.atomic
def disclosure_approve(*, actor: User, disclosure: Disclosure | int) -> Disclosure:
    """draft → current by someone other than the author; the previous current version is superseded."""
    _require(actor, "compliance.approve_disclosure")
    product, disclosure = _lock_disclosure(disclosure)
    if disclosure.status != DisclosureStatus.DRAFT:
        raise InvalidTransition(_("Only a draft disclosure can be approved."),
                                extra={"status": disclosure.status, "action": "approve_disclosure"})
    if actor.pk in _authors(disclosure):
        raise MakerCheckerViolation(_("The author of a disclosure cannot approve it."))
    sections_check(disclosure, product)
    previous = Disclosure.objects.select_for_update().filter(product=product, status=DisclosureStatus.CURRENT).first()
    if previous is not None:
        # Superseded first: PostgreSQL allows one current version per product.
        previous.status = DisclosureStatus.SUPERSEDED
        previous.save(update_fields=["status"])
        audit_record(actor=actor, action="disclosure.supersede", obj=previous,
                     before={"status": DisclosureStatus.CURRENT},
                     after={"status": DisclosureStatus.SUPERSEDED, "superseded_by": disclosure.pk})
    disclosure.status = DisclosureStatus.CURRENT
    disclosure.approved_by = actor
    disclosure.approved_at = timezone.now()
    disclosure.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(actor=actor, action="disclosure.approve", obj=disclosure,
                 before={"status": DisclosureStatus.DRAFT},
                 after={"status": DisclosureStatus.CURRENT, "author": disclosure.author_id,
                        "sha256": disclosure.sha256, "supersedes": previous.pk if previous else None})
    if previous is not None:  # holders are told after the commit, with a link to what changed (notifications)
        disclosure_published.send(sender=Disclosure, disclosure=disclosure)
    return disclosure


def sections_missing(disclosure: Disclosure, product: Any) -> list[str]:
    """`key.language` of the required sections (of the product's category now) this version leaves empty."""
    return missing_sections(product_category(product), disclosure.sections)


def sections_check(disclosure: Disclosure, product: Any) -> None:
    """Refuse (DISCLOSURE_INCOMPLETE) a version missing a required section of its product's category in either
    language. The product's category is read under its lock, so a category changed after drafting counts."""
    missing = sections_missing(disclosure, product)
    if not missing:
        return
    by_key: dict[str, list[str]] = {}
    for item in missing:
        key, language = item.rsplit(".", 1)
        by_key.setdefault(key, []).append(language)
    listed = ", ".join(f"{key} ({', '.join(languages)})" for key, languages in by_key.items())
    raise DisclosureIncomplete(
        _("Required sections of a %(category)s product are empty: %(sections)s. Complete them in English and "
          "Traditional Chinese before approving.") % {"category": product_category(product), "sections": listed},
        field=f"sections.{missing[0]}", extra={"missing": missing})


@transaction.atomic
def disclosure_reject(*, actor: User, disclosure: Disclosure | int, reason: str) -> Disclosure:
    """draft → rejected with a reason (by someone other than the author)."""
    _require(actor, "compliance.approve_disclosure")
    if not (reason or "").strip():
        raise ValidationFailed(_("Give a reason for the rejection."), field="reason")
    _product, disclosure = _lock_disclosure(disclosure)
    if disclosure.status != DisclosureStatus.DRAFT:
        raise InvalidTransition(_("Only a draft disclosure can be rejected."),
                                extra={"status": disclosure.status, "action": "reject_disclosure"})
    if actor.pk in _authors(disclosure):
        raise MakerCheckerViolation(_("The author of a disclosure cannot review it."))
    disclosure.status = DisclosureStatus.REJECTED
    disclosure.rejection_reason = reason.strip()
    disclosure.save(update_fields=["status", "rejection_reason"])
    audit_record(actor=actor, action="disclosure.reject", obj=disclosure, before={"status": DisclosureStatus.DRAFT},
                 after={"status": DisclosureStatus.REJECTED, "reason": disclosure.rejection_reason})
    return disclosure
