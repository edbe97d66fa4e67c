"""Login, locale switch and the dashboard (page, HTMX panel and JSON)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from siyu.accounts.service import authenticate
from siyu.analytics.kpis import Dashboard
from siyu.console.app import current_user, locale_of, render
from siyu.console.i18n import LOCALES
from siyu.core.clock import local, now
from siyu.core.errors import InvalidInput, Unauthorized
from siyu.core.money import fen_to_yuan
from siyu.metrics.service import dashboard_for

router = APIRouter()
User = Annotated[dict[str, Any], Depends(current_user)]


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next))


@router.post("/login", include_in_schema=False)
def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
          next: Annotated[str, Form()] = "/"):  # type: ignore[no-untyped-def]
    # The unit of work lives inside the handler: a generator dependency may enter and leave it on two
    # different threadpool threads, and SQLite's write turn is a lock its own thread must release.
    try:
        with request.app.state.rt.db.unit_of_work() as session:
            user = authenticate(session, username, password)
    except Unauthorized:
        return render(request, "login.html", status=401, next=_safe_next(next), failed=True, username=username)
    request.session["user"] = {"id": user.id, "username": user.username, "name": user.display_name or user.username}
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> RedirectResponse:
    request.session.pop("user", None)
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{code}", include_in_schema=False)
def switch_language(request: Request, code: str, back: str = "/") -> RedirectResponse:
    if code in LOCALES:
        request.session["locale"] = code
    return RedirectResponse(_safe_next(back), status_code=303)


def _safe_next(target: str) -> str:
    """Only same-site paths: never redirect a login to another host."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _range(start: str | None, end: str | None) -> tuple[date, date]:
    today = local(now()).date()
    try:
        hi = date.fromisoformat(end) if end else today
    except ValueError:
        raise InvalidInput(f"end: not a date (YYYY-MM-DD): {end!r}") from None
    try:
        lo = date.fromisoformat(start) if start else hi - timedelta(days=364)
    except ValueError:
        raise InvalidInput(f"start: not a date (YYYY-MM-DD): {start!r}") from None
    return lo, hi


def _figures(request: Request, start: str | None, end: str | None) -> Dashboard:
    lo, hi = _range(start, end)
    return dashboard_for(request.app.state.rt.settings.lake_dir, lo, hi)


def dashboard_json(d: Dashboard) -> dict[str, Any]:
    return {"start": d.start.isoformat(), "end": d.end.isoformat(), "members": d.members,
            "new_members": d.new_members, "sales": d.sales, "buyers": d.buyers, "repeat_buyers": d.repeat_buyers,
            "gmv": _yuan(d.gmv_fen), "member_gmv": _yuan(d.member_gmv_fen), "aov": _yuan(d.aov_fen),
            "member_share": round(d.member_share, 6), "repurchase_rate": round(d.repurchase_rate, 6),
            "channels": [{**c, "gmv": _yuan(int(c.pop("gmv_fen")))} for c in [dict(c) for c in d.channels]],
            "tiers": d.tiers,
            "months": [{**m, "gmv": _yuan(int(m.pop("gmv_fen"))), "member_gmv": _yuan(int(m.pop("member_gmv_fen")))}
                       for m in [dict(m) for m in d.months]]}


def _yuan(fen: int) -> str:
    """Exact decimal text: money never passes through a float."""
    return str(fen_to_yuan(fen))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(request: Request, user: User, start: str | None = None, end: str | None = None) -> HTMLResponse:
    d = _figures(request, start, end)
    return render(request, "dashboard.html", d=d, data=dashboard_json(d), active="dashboard")


@router.get("/dashboard/panel", response_class=HTMLResponse, include_in_schema=False)
def dashboard_panel(request: Request, user: User, start: str | None = None, end: str | None = None) -> HTMLResponse:
    d = _figures(request, start, end)
    return render(request, "_dashboard_panel.html", d=d, data=dashboard_json(d))


@router.get("/api/dashboard", tags=["metrics"])
def dashboard_api(request: Request, user: User, start: str | None = None, end: str | None = None) -> dict[str, Any]:
    """Dashboard figures for a Beijing-time date range (inclusive); money as exact decimal strings."""
    return dashboard_json(_figures(request, start, end))


__all__ = ["router", "locale_of"]
