"""Trust boundaries in a browser: residence as a KYC fact decided by compliance, staff 2FA, API tokens shown once."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import ApiToken, ResidenceChangeRequest, ResidenceRequestStatus
from accounts.roles import COMPLIANCE_OFFICER
from accounts.services import roles_sync
from earn.models import Position
from tests.e2e.conftest import shot
from tests.e2e.data import PASSWORD, world
from tests.e2e.test_journeys import acknowledge, preview_and_confirm, sign_in
from tests.earn.factories import staff_user
from tests.factories import totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

UNDER_REVIEW = "Your request to change your country of residence is being reviewed."
UNDER_REVIEW_NEXT = "You can subscribe again once our compliance team has decided on your request"


def staff_sign_in(page, email: str, code: str, *, next_url: str = "/admin/") -> None:
    """The portal's two-step sign-in, as staff reach the admin console: password, then the one-time code."""
    page.goto(next_url)
    expect(page).to_have_url(re.compile(r"/account/sign-in\?next="))
    page.fill("#id_email", email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/sign-in/code$"))
    page.fill("#id_otp", code)
    page.get_by_role("button", name="Continue").click()


def pending_device_code(user) -> str:
    """The code an authenticator app shows for a device being set up (not confirmed yet)."""
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def test_residence_change_is_decided_by_compliance(new_page):
    """A verified US customer asks to move to SG; subscriptions stay refused (under review, in plain words)
    until a compliance officer, signed in with a one-time code, approves in the admin console; then the
    customer subscribes to a product offered in SG."""
    w = world()
    roles_sync()  # the live-server tests flush the role groups; this puts them back with their permissions
    officer = staff_user(COMPLIANCE_OFFICER, email="olivia@earn.example", display_name="Olivia Ng")
    carol = w["us"]

    page = new_page()
    sign_in(page, "carol@us.example")
    page.goto("/account/profile")
    residence = page.locator("#residence")
    expect(residence.get_by_test_id("country")).to_have_text("United States")
    expect(residence.locator(".pill.on")).to_have_text("Verified")
    # Read-only: no form on the page edits the country; only the request form names a new one.
    assert page.locator("select[name=country], input[name=country]").count() == 0
    shot(page, "residence-01-profile")
    page.select_option("#id_requested_country", "SG")
    page.fill("#id_reason", "I moved to Singapore on 1 November for a new job.")
    page.get_by_role("button", name="Request a change").click()
    expect(page).to_have_url(re.compile(r"/account/profile$"))
    expect(page.get_by_text("Your request was sent to our compliance team.")).to_be_visible()
    pending = page.get_by_test_id("pending-request")
    expect(pending).to_contain_text("Under review")
    expect(pending).to_contain_text("Singapore")
    expect(residence.get_by_test_id("country")).to_have_text("United States")  # nothing changes until decided
    expect(page.get_by_role("button", name="Request a change")).to_have_count(0)
    shot(page, "residence-02-request-pending")

    page.goto(f"/products/{w['fixed'].pk}")
    refusal = page.locator(".refusal")
    expect(refusal.get_by_text(UNDER_REVIEW)).to_be_visible()
    expect(refusal.get_by_text(UNDER_REVIEW_NEXT)).to_be_visible()
    # Plain words only: no reason code on the page, and no "request a change" while one is under review.
    expect(refusal).not_to_contain_text("RESIDENCE_UNDER_REVIEW")
    expect(refusal).not_to_contain_text("JURISDICTION_RESTRICTED")
    expect(refusal).not_to_contain_text("request a change in your profile")
    shot(page, "residence-03-product-under-review")
    page.get_by_role("link", name="Subscribe", exact=True).click()
    # Refused at the first step: no disclosure to tick, no amount to enter.
    expect(page.locator(".refusal").get_by_text(UNDER_REVIEW)).to_be_visible()
    assert page.locator("input[name=statements], #id_amount, form:has(input[name=step])").count() == 0
    shot(page, "residence-04-subscribe-refused")

    staff = new_page()
    staff_sign_in(staff, officer.email, totp_code(officer))
    expect(staff).to_have_url(re.compile(r"/admin/$"))
    staff.get_by_role("link", name="Residence change requests").click()
    row = staff.locator("#result_list tbody tr", has_text=carol.email)
    expect(row).to_have_count(1)
    shot(staff, "residence-05-admin-requests")
    row.locator("input[name=_selected_action]").check()
    staff.select_option("select[name=action]", label="Approve (the new residence applies at once)")
    staff.get_by_role("button", name="Go").click()
    expect(staff.locator("#content-main")).to_contain_text("I moved to Singapore")
    staff.fill("#id_reason", "Proof of address seen.")
    shot(staff, "residence-06-admin-confirm")
    staff.get_by_role("button", name=re.compile("^Yes, approve")).click()
    expect(staff.locator(".messagelist .success")).to_be_visible()
    shot(staff, "residence-07-admin-approved")
    request = ResidenceChangeRequest.objects.get(user=carol)
    assert request.status == ResidenceRequestStatus.APPROVED and request.decided_by == officer
    carol.refresh_from_db()
    assert carol.country == "SG"

    page.goto("/account/profile")
    expect(residence.get_by_test_id("country")).to_have_text("Singapore")
    expect(page.get_by_test_id("pending-request")).to_have_count(0)
    expect(residence.locator("table")).to_contain_text("Approved")
    shot(page, "residence-08-profile-approved")
    page.goto(f"/products/{w['flexible'].pk}")
    expect(page.locator(".refusal").get_by_text(UNDER_REVIEW)).to_have_count(0)
    page.get_by_role("link", name="Subscribe", exact=True).click()
    acknowledge(page)
    expect(page.get_by_text("your acknowledgement is recorded")).to_be_visible()
    preview_and_confirm(page, "500", "residence-09")
    expect(page.get_by_text("Subscribed: 500 USDT")).to_be_visible()
    shot(page, "residence-10-subscribed")
    assert Position.objects.get(user=carol, product=w["flexible"]).principal == 500
    assert not page.csp_errors and not staff.csp_errors


def test_staff_reach_the_admin_console_only_with_a_second_factor(new_page, live_server):
    """A password-only staff session is sent to the code step; a staff user without an authenticator is
    sent to set one up, and reaches the admin console once it is confirmed."""
    world()
    roles_sync()
    officer = staff_user(COMPLIANCE_OFFICER, email="olivia@earn.example")
    newcomer = staff_user(COMPLIANCE_OFFICER, email="nick@earn.example", otp_device=False)

    # Half-way through the portal sign-in (password given, no code yet) nobody is signed in.
    page = new_page()
    page.goto("/account/sign-in")
    page.fill("#id_email", officer.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/sign-in/code$"))
    shot(page, "staff-01-code-step")
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/account/sign-in\?next=(/|%2F)admin(/|%2F)$"))

    # A session signed in with the password only (as before staff 2FA was mandatory): the code comes first.
    client = Client()
    client.force_login(officer)
    page = new_page()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page.goto("/admin/accounts/residencechangerequest/")
    expect(page).to_have_url(re.compile(r"/account/sign-in/code$"))
    expect(page.locator("#content, main, body").first).not_to_contain_text("Site administration")
    page.fill("#id_otp", "000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("That code is not valid.")).to_be_visible()
    shot(page, "staff-02-code-refused")
    # Right after a wrong code every code is refused for a second (then 2, 4, ... s): the page says to wait.
    page.fill("#id_otp", totp_code(officer))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Too many wrong codes in a row: wait a few seconds")).to_be_visible()
    page.wait_for_timeout(1100)
    page.fill("#id_otp", totp_code(officer))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/admin/accounts/residencechangerequest/$"))
    shot(page, "staff-03-admin-after-code")

    # No authenticator yet: the password signs in to the portal, but the admin console needs enrolment first.
    # Staff land in the console after signing in, which first sends them to set up the authenticator.
    page = new_page()
    page.goto("/account/sign-in")
    page.fill("#id_email", newcomer.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))
    expect(page.get_by_text("Staff accounts must use two-factor authentication").first).to_be_visible()
    shot(page, "staff-04-enrol-required")
    page.get_by_role("button", name="Set up two-factor authentication").click()
    expect(page.locator(".qr svg")).to_be_visible()
    shot(page, "staff-05-enrol-qr")
    page.fill("#id_otp", pending_device_code(newcomer))
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_text("Your recovery codes")).to_be_visible()
    expect(page.locator("#id_otp")).to_have_value("")  # the code just used is not offered again
    shot(page, "staff-06-enrolled")
    page.get_by_role("link", name="Continue to the admin console").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("link", name="Residence change requests")).to_be_visible()
    expect(page.locator("#site-name")).to_have_text("Earn admin console")
    shot(page, "staff-07-admin-console")
    assert TOTPDevice.objects.filter(user=newcomer, confirmed=True).count() == 1


def test_api_token_is_shown_once_listed_by_prefix_and_revocable(new_page):
    w = world()
    page = new_page()
    sign_in(page, "alice@hk.example")
    page.goto("/account/tokens")
    expect(page.get_by_text("You have no API token.")).to_be_visible()
    page.fill("#id_name", "Portfolio script")
    page.get_by_role("button", name="Create a token").click()
    expect(page.get_by_text("Copy it now: it is not shown again.")).to_be_visible()
    key = page.locator(".secret").inner_text().strip()
    token = ApiToken.objects.get(user=w["hk"])
    assert key.startswith(token.prefix) and len(key) > len(token.prefix) + 20
    row = page.locator("tbody tr", has_text="Portfolio script")
    expect(row).to_contain_text(f"{token.prefix}…")
    expect(row).not_to_contain_text(key)
    expect(page.locator("#id_name")).to_have_value("")  # not an invitation to make the same token twice
    shot(page, "tokens-01-created")

    # Reloading (or coming back) shows the list, never the key again, and makes no second token.
    page.reload()
    expect(page.get_by_text("That token was already created, and its key was shown only once.")).to_be_visible()
    expect(page.locator("tbody tr", has_text="Portfolio script")).to_have_count(1)
    expect(page.get_by_text(key)).to_have_count(0)
    shot(page, "tokens-02-reloaded")
    page.goto("/account/tokens")
    expect(page.get_by_text(key)).to_have_count(0)
    assert ApiToken.objects.filter(user=w["hk"]).count() == 1

    # The key works against the API until it is revoked.
    client = Client()
    assert client.get("/api/v1/balances", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    page.locator("tbody tr", has_text="Portfolio script").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("The API token was revoked.")).to_be_visible()
    expect(page.get_by_text("You have no API token.")).to_be_visible()
    shot(page, "tokens-03-revoked")
    assert not ApiToken.objects.filter(user=w["hk"]).exists()
    assert client.get("/api/v1/balances", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert not page.csp_errors


def test_residence_request_and_tokens_in_traditional_chinese(new_page):
    """David (HK, zh-Hant) reads the residence and token pages in Traditional Chinese, English nowhere."""
    w = world()
    page = new_page(locale="zh-TW")
    sign_in(page, "david@hk.example")
    page.goto("/account/profile")
    expect(page.locator("#residence").get_by_test_id("country")).to_have_text("香港")
    page.select_option("#id_requested_country", "GB")
    page.fill("#id_reason", "我已於十一月搬往倫敦。")
    page.locator("form[action$='residence-request'] button[type=submit]").click()
    expect(page.get_by_test_id("pending-request")).to_contain_text("英國")
    shot(page, "zh-residence-01-pending")
    page.goto(f"/products/{w['flexible'].pk}")
    expect(page.locator(".refusal")).to_contain_text("您更改居住國家或地區的申請正在審核中。")
    expect(page.locator(".refusal")).not_to_contain_text("RESIDENCE_UNDER_REVIEW")
    shot(page, "zh-residence-02-product")
    page.goto("/account/tokens")
    page.fill("#id_name", "報表程式")
    page.locator("button[name=action][value=create]").click()
    expect(page.locator(".secret")).to_be_visible()
    page.reload()
    expect(page.get_by_text("此權杖已經建立")).to_be_visible()
    shot(page, "zh-tokens-01-reloaded")
    for text in ("Residence", "Country of residence", "Under review", "Request a change", "API tokens", "Revoke"):
        expect(page.locator("main")).not_to_contain_text(text)
