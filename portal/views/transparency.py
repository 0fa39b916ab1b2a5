"""Transparency pages: the redline of a product's risk disclosure since the version a customer acknowledged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from compliance.redline import acknowledgement_latest, disclosure_changes, disclosure_shown


def redline_context(request: HttpRequest, product_id: int, disclosure: Any, language: str,
                    since: int | None = None) -> dict[str, Any]:
    """{"redline", "acknowledged_version"}: the changes from `since` (default: the version the customer last
    acknowledged) to the current `disclosure`, in `language`; redline None when there is nothing to compare."""
    ack = acknowledgement_latest(user=request.user, product_id=product_id)
    acknowledged = ack.disclosure_version if ack else None
    context: dict[str, Any] = {"redline": None, "acknowledged_version": acknowledged}
    base_version = since or acknowledged
    if disclosure is None or base_version is None or base_version >= disclosure.version:
        return context
    base = disclosure_shown(product_id=product_id, version=base_version)
    if base is not None:
        context["redline"] = disclosure_changes(since=base, current=disclosure, language=language)
    return context


@login_required
@require_safe
def disclosure_changes_page(request: HttpRequest, product_id: int) -> HttpResponse:
    """Every change since the customer's version, then the current disclosure with its acknowledgement form."""
    from portal.views.earn import _product_context, _visible_product

    product = _visible_product(product_id, request.user)
    context = _product_context(request, product)
    raw = request.GET.get("since", "")
    since = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
    if context.get("redline") is None or since:
        context.update(redline_context(request, product.pk, context["disclosure"], context["shown_language"],
                                       since=since))
    return render(request, "portal/disclosure_changes.html", context)


@require_safe
def earn_verify_script(request: HttpRequest) -> FileResponse:
    """The offline verifier of accrual proofs (bin/earn_verify.py), public: it holds no data."""
    path = Path(settings.BASE_DIR) / "bin" / "earn_verify.py"
    return FileResponse(path.open("rb"), content_type="text/x-python; charset=utf-8", as_attachment=True,
                        filename="earn_verify.py")


@require_safe
def liabilities(request: HttpRequest) -> HttpResponse:
    """Public: each asset's published root and total of a day; signed in, the customer's own balances in it,
    the proof to download and the command that checks it."""
    from liabilities import selectors
    from liabilities.services import date_parse

    raw = request.GET.get("date", "")
    try:
        day = date_parse(raw[:32]) if raw else None
    except ValueError:
        day = None
    roots = selectors.root_list(day) if day else []
    unknown_date = bool(raw) and not roots
    if not roots:
        day = selectors.latest_date()
        roots = selectors.root_list(day) if day else []
    mine = selectors.leaf_list(request.user.pk, day) if day and request.user.is_authenticated else []
    held = {m["asset"] for m in mine}
    command = " ".join(["python3 earn_verify.py inclusion", f"liabilities-{day}.json",
                        *(f"--root {r['asset']}={r['root']}" for r in roots if r["asset"] in held)])
    return render(request, "portal/liabilities.html", {
        "day": day, "roots": roots, "dates": selectors.snapshot_dates(), "mine": mine, "command": command,
        "unknown_date": unknown_date})


@login_required
@require_safe
def statements(request: HttpRequest) -> HttpResponse:
    """The customer's monthly statements, newest first, each as PDF and CSV."""
    from statements.income import income_years
    from statements.selectors import statements_for

    return render(request, "portal/statements.html", {"statements": statements_for(request.user),
                                                      "income_years": list(income_years(request.user))})


@login_required
@require_safe
def statement_download(request: HttpRequest, statement_id: int, fmt: str) -> HttpResponse:
    """One statement as PDF or CSV, in the customer's language; anyone else's answers 404."""
    from django.utils import translation

    from statements.render import statement_csv, statement_pdf
    from statements.selectors import statement_for

    statement = statement_for(request.user, statement_id)
    if statement is None:
        raise Http404
    language = translation.get_language() or getattr(request.user, "language", "en")
    name = f"earn-statement-{statement.month:%Y-%m}"
    if fmt == "pdf":
        response = HttpResponse(statement_pdf(statement.figures, language), content_type="application/pdf")
    else:
        response = HttpResponse(statement_csv(statement.figures, language), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@login_required
@require_safe
def income_export(request: HttpRequest, year: int) -> HttpResponse:
    """The customer's income of a year (every accrual, reward and pool fee with its USD value), as CSV."""
    from django.utils import translation

    from statements.income import income_csv

    if not 2000 <= year <= 9998:
        raise Http404
    body = income_csv(request.user, year, translation.get_language() or "en")
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="earn-income-{year}.csv"'
    return response
