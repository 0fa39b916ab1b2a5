"""GET/POST /api/v1/compliance/assessment: questions without answers, marking, stored answers, retake wait."""

from __future__ import annotations

import datetime as dt

import time_machine

from compliance.models import AssessmentAttempt
from core.models import AuditEvent
from tests.compliance.conftest import answers, client_for
from tests.earn.factories import live_product
from tests.factories import UserFactory

URL = "/api/v1/compliance/assessment"
T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


def test_questions_in_the_customers_language_without_answers(db):
    david = UserFactory(country="HK", language="zh-hant")
    body = client_for(david).get(URL + "?product_kind=liquidity_mining").json()
    assert (body["jurisdiction"], body["product_kind"], body["required_from_risk_rating"], body["pass_mark"]) == (
        "HK", "liquidity_mining", 3, 75)
    keys = [q["key"] for q in body["questions"]]
    assert {"va_volatility", "lm_impermanent_loss", "lm_smart_contract"} <= set(keys)
    assert "lockup_early" not in keys and "demand_withdraw" not in keys
    assert "流動性池" in next(q["text"] for q in body["questions"] if q["key"] == "lm_impermanent_loss")
    assert all("answer" not in q for q in body["questions"])
    assert body["last_result"] is None


def test_product_picks_the_kind(prices):
    fixed = live_product("USDT", "fixed")
    body = client_for(UserFactory(country="GB")).get(f"{URL}?product={fixed.pk}").json()
    assert body["product_kind"] == "fixed"
    assert "lockup_early" in [q["key"] for q in body["questions"]]
    assert "gb_fscs" in [q["key"] for q in body["questions"]]


def test_pass_stores_answers_score_and_an_audit_event(db):
    user = UserFactory(country="HK")
    given = answers("HK", "fixed", wrong=1)  # 3 of 4 = 75 %: the pass mark
    response = client_for(user).post(URL, {"product_kind": "fixed", "answers": given}, format="json")
    assert response.status_code == 201, response.json()
    assert {k: response.json()[k] for k in ("passed", "score", "total", "percent", "retake_after")} == {
        "passed": True, "score": 3, "total": 4, "percent": 75, "retake_after": None}
    attempt = AssessmentAttempt.objects.get(user=user)
    assert attempt.answers == given
    event = AuditEvent.objects.get(action="assessment.submit")
    assert (event.actor_id, event.after["passed"], event.after["score"]) == (user.pk, True, 3)


def test_fail_then_wait_before_a_retake(db):
    client = client_for(UserFactory(country="HK"))
    with time_machine.travel(T0, tick=False):
        failed = client.post(URL, {"product_kind": "demand", "answers": answers("HK", "demand", wrong=2)},
                             format="json").json()
        assert (failed["passed"], failed["percent"]) == (False, 50)
        assert failed["retake_after"] == "2026-03-02T10:00:00Z"
    with time_machine.travel(T0 + dt.timedelta(hours=23, minutes=59), tick=False):
        early = client.post(URL, {"product_kind": "demand", "answers": answers("HK", "demand")}, format="json")
        assert (early.status_code, early.json()["code"]) == (409, "RETAKE_TOO_SOON")
    with time_machine.travel(T0 + dt.timedelta(hours=24), tick=False):
        retake = client.post(URL, {"product_kind": "demand", "answers": answers("HK", "demand")}, format="json")
        assert retake.json()["passed"] is True
        assert client.get(URL).json()["last_result"]["passed"] is True


def test_every_question_must_be_answered(db):
    given = answers("HK", "demand")
    given.pop("va_rates")
    response = client_for(UserFactory(country="HK")).post(URL, {"product_kind": "demand", "answers": given},
                                                          format="json")
    assert (response.status_code, response.json()["field"]) == (400, "answers")
    assert "va_rates" in response.json()["detail"]


def test_no_assessment_where_no_bank(db):
    response = client_for(UserFactory(country="SG")).post(URL, {"product_kind": "demand", "answers": {"x": "a"}},
                                                          format="json")
    assert (response.status_code, response.json()["code"]) == (404, "ASSESSMENT_UNAVAILABLE")


def test_anonymous_is_refused(api_client, db):
    assert api_client.get(URL).status_code in (401, 403)


def test_session_login_works_too(db):
    """The portal's session user (a lazy object) is marked like a token user."""
    from django.test import Client

    user = UserFactory(country="GB")
    client = Client()
    client.force_login(user)
    response = client.post(URL, {"product_kind": "demand", "answers": answers("GB", "demand")},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["passed"] is True
