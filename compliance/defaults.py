"""Default jurisdiction rules and assessment question banks, installed by a data migration.

Compliance officers change them afterwards in the admin (each change is an audit event); this
module is only the starting point, so editing it later does not change an installed database.
"""

from __future__ import annotations

RULES: list[dict] = [
    {
        "country": "HK",
        "assessment_min_risk": 3,
        "pass_mark": 75,
        "retake_wait_hours": 24,
        "exposure_limit": True,
        "exposure_shares": {"conservative": "0.10", "moderate": "0.30", "high": "0.50"},
        "professional_exempt": True,
        "cooling_off_hours": 0,
        "risk_warnings": False,
        "notes": "SFC VATP guidelines: knowledge assessment before VA services, risk profiling, exposure limit "
                 "with reference to the client's net worth; institutional and qualified corporate professional "
                 "investors are exempt.",
    },
    {
        "country": "GB",
        "assessment_min_risk": 1,
        "pass_mark": 75,
        "retake_wait_hours": 24,
        "exposure_limit": False,
        "exposure_shares": {},
        "professional_exempt": False,
        "cooling_off_hours": 24,
        "risk_warnings": True,
        "notes": "FCA COBS 4.12A (cryptoasset promotions): appropriateness assessment, 24-hour cooling-off for "
                 "first-time investors, prescribed and personalised risk warnings.",
    },
]


def _q(key: str, topic: str, kinds: list[str], en: str, zh: str, choices: list[tuple[str, str, str]],
       answer: str) -> dict:
    return {"key": key, "topic": topic, "product_kinds": kinds, "text_en": en, "text_zh_hant": zh,
            "choices": [{"key": k, "en": c_en, "zh-hant": c_zh} for k, c_en, c_zh in choices], "answer": answer,
            "key_risk": key in KEY_RISKS, "explanation_en": EXPLANATIONS[key][0],
            "explanation_zh_hant": EXPLANATIONS[key][1]}


# Questions on a product's key risks: a wrong answer fails the assessment whatever the score.
KEY_RISKS = frozenset({"va_volatility", "lockup_early", "lm_impermanent_loss", "lm_smart_contract"})
# What a customer who got a question wrong is told: (English, Traditional Chinese).
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "va_volatility": ("Virtual assets have no guaranteed value: what you hold in Earn can fall sharply, possibly "
                      "to almost nothing, and the interest earned does not limit the loss.",
                      "虛擬資產並無保證價值：你在賺幣中持有的資產可大幅下跌，甚至接近零，已賺取的利息並不會限制損失。"),
    "va_protection": ("Earn products are not bank deposits: no deposit protection or investor compensation scheme "
                      "covers them.",
                      "賺幣產品並非銀行存款，不受任何存款保障或投資者賠償計劃保障。"),
    "va_rates": ("Rates are estimates: they can change at any time and are not guaranteed by anyone.",
                 "利率只屬估算，可隨時變動，亦沒有任何人作出保證。"),
    "demand_withdraw": ("Money added to a flexible product starts earning on the value date, the next day (T+1).",
                        "加入活期產品的資金由起息日（即翌日，T+1）開始計息。"),
    "lockup_early": ("A fixed term locks your money: early redemption may be refused, or cost the interest "
                     "already paid or a penalty.",
                     "定期產品會鎖定你的資金：可能不准提早贖回，或須放棄已派利息或支付罰息。"),
    "lm_impermanent_loss": ("When one asset's price doubles against the other, the pool sells part of the rising "
                            "asset: your share is worth about 5.7 % less than simply holding both (impermanent "
                            "loss), and the loss becomes real when you redeem.",
                            "當一種資產相對另一種價格上升一倍，池會沽出部分上升中的資產：你的份額價值較單純持有兩種資產"
                            "低約5.7%（無常損失），並在贖回時成為實際損失。"),
    "lm_smart_contract": ("Audits reduce but do not remove the risk: an exploited contract can lose the pooled "
                          "assets, and nobody is obliged to refund them.",
                          "審計只能減低而不能消除風險：合約被攻擊時池中資產可能損失，亦沒有人有責任退款。"),
    "gb_fscs": ("Cryptoasset products are not covered by the FSCS, and the Financial Ombudsman Service may not be "
                "able to help: you should not expect to be protected.",
                "加密資產產品不受英國金融服務補償計劃保障，金融申訴專員服務亦未必能協助：你不應期望受到保障。"),
}


_COMMON = [
    _q("va_volatility", "virtual_assets", [],
       "The price of a virtual asset such as BTC can fall sharply within a day. What can happen to the value of "
       "what you hold in Earn?",
       "比特幣等虛擬資產的價格可在一日內大幅下跌。你在賺幣中持有的資產價值可能會怎樣？",
       [("a", "It is guaranteed not to fall.", "保證不會下跌。"),
        ("b", "It can fall, possibly to almost nothing.", "可能下跌，甚至接近零。"),
        ("c", "It can only fall by the interest earned.", "最多只會減少已賺取的利息。")], "b"),
    _q("va_protection", "virtual_assets", [],
       "Are Earn products bank deposits covered by a deposit protection scheme?",
       "賺幣產品是否屬於受存款保障計劃保障的銀行存款？",
       [("a", "Yes, fully covered.", "是，全數受保障。"),
        ("b", "Yes, up to a limit.", "是，但有上限。"),
        ("c", "No, they are not protected.", "否，不受保障。")], "c"),
    _q("va_rates", "virtual_assets", [],
       "The rate shown for a product is…", "產品顯示的利率是……",
       [("a", "fixed for ever.", "永遠固定。"),
        ("b", "an estimate that can change and is not guaranteed.", "估算數字，可能變動且不獲保證。"),
        ("c", "guaranteed by the exchange.", "由交易所保證。")], "b"),
]
_KIND = [
    _q("demand_withdraw", "flexible", ["demand"],
       "In a flexible product, when does money you add start earning?", "活期產品中，你加入的資金何時開始計息？",
       [("a", "From the next day (value date T+1).", "由翌日起（起息日T+1）。"),
        ("b", "From the same second.", "即時。"),
        ("c", "Only after 30 days.", "30日後。")], "a"),
    _q("lockup_early", "lock_up", ["fixed"],
       "You lock funds for 30 days and need them back after 10. What may happen?",
       "你鎖定資金30日，但第10日需要取回。可能會怎樣？",
       [("a", "Nothing; you always get all interest.", "沒有影響，一定可取得全部利息。"),
        ("b", "Early redemption may be refused or cost interest or a penalty.",
         "可能不准提早贖回，或須放棄利息或支付罰息。"),
        ("c", "The exchange pays a bonus.", "交易所會發放獎金。")], "b"),
    _q("lm_impermanent_loss", "impermanent_loss", ["liquidity_mining"],
       "In a liquidity pool, if the price of one asset doubles against the other, compared with simply holding "
       "both assets your pool share is worth…",
       "在流動性池中，若一種資產相對另一種價格上升一倍，與單純持有兩種資產相比，你的池份額價值……",
       [("a", "more.", "較高。"),
        ("b", "the same.", "相同。"),
        ("c", "less (impermanent loss, about 5.7 %).", "較低（無常損失，約5.7%）。")], "c"),
    _q("lm_smart_contract", "smart_contract", ["liquidity_mining"],
       "The pool runs on a smart contract. If the contract is exploited…", "流動性池運行於智能合約上。若合約被攻擊……",
       [("a", "the pooled assets can be lost.", "池中資產可能損失。"),
        ("b", "the exchange must refund everything.", "交易所必須全數退款。"),
        ("c", "nothing can happen, contracts are audited.", "合約已審計，不會有任何影響。")], "a"),
]
_GB_ONLY = [
    _q("gb_fscs", "virtual_assets", [],
       "If something goes wrong, are you likely to be protected by the FSCS or the Financial Ombudsman Service?",
       "如出現問題，你是否可能受英國金融服務補償計劃或金融申訴專員服務保障？",
       [("a", "Yes, always.", "是，一定會。"),
        ("b", "You should not expect to be protected.", "你不應期望受到保障。")], "b"),
]


def questions() -> dict[str, list[dict]]:
    """{jurisdiction: [question]} with positions in order."""
    banks = {"HK": _COMMON + _KIND, "GB": _COMMON + _GB_ONLY + _KIND}
    return {j: [{**q, "position": i} for i, q in enumerate(bank, start=1)] for j, bank in banks.items()}


# --- Product categories (docs/COMPLIANCE.md, "Product categories") ------------------------------------------
# (jurisdiction, category, investor class, permitted, conditions, effective from (UTC), legal basis). Every
# category is stated for both classes, so the matrix reads whole; a country not listed here has no rule of its
# own and gets the default (`*`, none installed: every category permitted, as before categories existed).

_HK_NO_RETURNS = ("SFC Guidelines for Virtual Asset Trading Platform Operators (June 2023) para 7.26(b): a "
                  "platform may not arrange with clients to use their virtual assets to generate returns for them "
                  "or others. Applies to every client, professional or not.")
_HK_STAKING = ("SFC Circular on staking services provided by virtual asset trading platforms (7 April 2025): staking "
               "permitted by licence condition; the platform discloses assets, returns, lock-up, validators, fees "
               "and slashing compensation (the product's disclosure), and clients other than professional "
               "investors acknowledge the risks (the disclosure acknowledgement the gate asks of every customer).")
_HK_STAKING_RETAIL = _HK_STAKING + (" Platform choice: retail clients also pass the knowledge assessment of the "
                                    "product's kind before staking, whatever its risk rating.")
_GB_PROPOSAL = ("FCA DP25/1 (2 May 2025) proposed restricting firms from offering cryptoasset lending and borrowing "
                "to retail consumers; CP25/40 (16 December 2025) consulted on the rules. A PROPOSAL, not yet in "
                "force: offered under today's rules (appropriateness and cooling-off through the GB jurisdiction "
                "rule); add a refusing version from the date the final rules take effect.")
_GB_LM = ("Platform policy: liquidity provision places the customer's assets in a third-party protocol, the same "
          "risk as lending (FCA DP25/1, \"same risk, same regulatory outcome\"); not offered to retail consumers.")
_GB_STRUCTURED = ("FCA PS20/10 (COBS 22.6, in force 6 January 2021): derivatives referencing cryptoassets may not "
                  "be sold to retail clients; structured Earn products embed an option.")
_GB_STAKING = ("FCA DP25/1 (2 May 2025): staking to remain available to retail consumers with explicit consent to "
               "its terms (the disclosure acknowledgement); COBS 4.12A appropriateness and cooling-off apply "
               "through the GB jurisdiction rule.")
_GB_PRO = "Professional clients: no restriction proposed (FCA DP25/1, CP25/40)."
_DE_LENDING = ("MiCA (Regulation (EU) 2023/1114) does not cover crypto-asset lending (recital 94) and art. 70(1) "
               "bars a CASP from using clients' crypto-assets for its own account; whether lending needs a German "
               "banking licence (KWG) is for BaFin. Platform policy: not offered to retail clients.")
_DE_STAKING = ("MiCA: staking is not a crypto-asset service of its own; offered under the platform's custody "
               "(art. 75) with the product's disclosure. Permitted.")
_DE_LM = ("MiCA recital 22: fully decentralised services are outside MiCA, so the customer's protection ends at "
          "the protocol. Platform policy: not offered to retail clients.")
_DE_STRUCTURED = ("Structured products are financial instruments under MiFID II (Directive 2014/65/EU) with a "
                  "PRIIPs KID for retail investors, outside a MiCA CASP authorisation. Not offered.")

_P, _R = "professional", "retail"
CATEGORY_RULES: list[dict] = [
    *[{"jurisdiction": "HK", "category": c, "investor_class": k, "permitted": False,
       "effective_from": "2023-06-01T00:00:00+08:00", "notes": _HK_NO_RETURNS}
      for c in ("lending", "staking", "liquidity_mining", "structured") for k in (_R, _P)],
    {"jurisdiction": "HK", "category": "staking", "investor_class": _R, "permitted": True,
     "requires_assessment": True, "effective_from": "2025-04-07T00:00:00+08:00", "notes": _HK_STAKING_RETAIL},
    {"jurisdiction": "HK", "category": "staking", "investor_class": _P, "permitted": True,
     "effective_from": "2025-04-07T00:00:00+08:00", "notes": _HK_STAKING},
    {"jurisdiction": "GB", "category": "lending", "investor_class": _R, "permitted": True,
     "effective_from": "2025-05-02T00:00:00+00:00", "notes": _GB_PROPOSAL},
    {"jurisdiction": "GB", "category": "liquidity_mining", "investor_class": _R, "permitted": False,
     "effective_from": "2025-05-02T00:00:00+00:00", "notes": _GB_LM},
    {"jurisdiction": "GB", "category": "structured", "investor_class": _R, "permitted": False,
     "effective_from": "2021-01-06T00:00:00+00:00", "notes": _GB_STRUCTURED},
    {"jurisdiction": "GB", "category": "staking", "investor_class": _R, "permitted": True,
     "effective_from": "2025-05-02T00:00:00+00:00", "notes": _GB_STAKING},
    *[{"jurisdiction": "GB", "category": c, "investor_class": _P, "permitted": True,
       "effective_from": "2025-05-02T00:00:00+00:00", "notes": _GB_PRO}
      for c in ("lending", "staking", "liquidity_mining", "structured")],
    {"jurisdiction": "DE", "category": "lending", "investor_class": _R, "permitted": False,
     "effective_from": "2024-12-30T00:00:00+01:00", "notes": _DE_LENDING},
    {"jurisdiction": "DE", "category": "lending", "investor_class": _P, "permitted": True,
     "effective_from": "2024-12-30T00:00:00+01:00", "notes": _DE_LENDING.replace("retail", "retail; professional "
                                                                                  "clients may be offered it")},
    *[{"jurisdiction": "DE", "category": "staking", "investor_class": k, "permitted": True,
       "effective_from": "2024-12-30T00:00:00+01:00", "notes": _DE_STAKING} for k in (_R, _P)],
    {"jurisdiction": "DE", "category": "liquidity_mining", "investor_class": _R, "permitted": False,
     "effective_from": "2024-12-30T00:00:00+01:00", "notes": _DE_LM},
    {"jurisdiction": "DE", "category": "liquidity_mining", "investor_class": _P, "permitted": True,
     "effective_from": "2024-12-30T00:00:00+01:00", "notes": _DE_LM.replace("retail", "retail; professional "
                                                                             "clients may be offered it")},
    *[{"jurisdiction": "DE", "category": "structured", "investor_class": k, "permitted": False,
       "effective_from": "2024-12-30T00:00:00+01:00", "notes": _DE_STRUCTURED} for k in (_R, _P)],
]
