"""The OneID pages: find a person, see what joined their records, split or merge them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from siyu.console.app import current_user, locale_of, render
from siyu.core.clock import local
from siyu.core.errors import NotFound, SiyuError
from siyu.identity.explain import explain
from siyu.identity.lookup import find_person
from siyu.identity.service import merge_persons, split_person
from siyu.ingest.service import add_note, person_activity
from siyu.loyalty import versions
from siyu.loyalty.coupons import list_coupons
from siyu.loyalty.pricing import price_identities
from siyu.loyalty.service import member_loyalty
from siyu.tags.definitions import default
from siyu.tags.manual import remove_tag, resolve_person, set_tag
from siyu.tags.profile import manual_history, manual_tags, person_tags

router = APIRouter()
User = Annotated[dict[str, Any], Depends(current_user)]


@router.get("/persons", response_class=HTMLResponse, include_in_schema=False)
def search(request: Request, user: User, q: str = "") -> Any:
    rt = request.app.state.rt
    if q:
        # units of work stay inside handlers (see pages.login)
        with rt.db.read_only() as session:
            found = find_person(session, rt.vault, q)
        if found is not None:
            return RedirectResponse(f"/persons/{found}", status_code=303)
    return render(request, "persons.html", q=q, missing=bool(q), active="persons")


@router.get("/persons/{person_id}", response_class=HTMLResponse, include_in_schema=False)
def person_page(request: Request, user: User, person_id: int, error: str = "") -> HTMLResponse:
    """Member 360: identities and what joined them, tier and points, coupons, tags and why, orders in every
    channel, guide and store, notes, and one timeline."""
    rt = request.app.state.rt
    pack = default()
    try:
        with rt.db.read_only() as session:
            ex = explain(session, rt.vault, rt.settings, person_id)
            if ex.person_id != person_id:
                return RedirectResponse(f"/persons/{ex.person_id}", status_code=303)
            programme = versions.active(session)
            loyalty = member_loyalty(session, programme, ex.person_id)
            coupons = list_coupons(session, programme, loyalty["member"].id) if loyalty else []
            prices = price_identities(session, programme, loyalty["member"].id) if loyalty else []
            tags = person_tags(session, rt.settings.tagstore_dir, pack, ex.person_id, en=locale_of(request) == "en")
            marks = manual_history(session, ex.person_id)
            activity = person_activity(session, ex.person_id)
    except NotFound:
        return render(request, "persons.html", q=str(person_id), missing=True, active="persons", status=404)
    return render(request, "person.html", ex=ex, error=error, active="persons", loyalty=loyalty, local=local,
                  coupons=coupons, prices=prices, tags=tags, manual=manual_tags(pack), activity=activity,
                  timeline=timeline(ex, loyalty, activity, marks), note_key=uuid.uuid4().hex)


def timeline(ex: Any, loyalty: dict[str, Any] | None, activity: dict[str, list[Any]], marks: list[Any]
             ) -> list[dict[str, Any]]:
    """Orders, interactions, notes, tier changes, marks and merges, newest first."""
    items = [{"at": o.paid_at or o.created_at, "kind": "order",
              "text": f"{o.channel} {o.external_id} ¥{o.paid_fen / 100:,.2f} {o.status}"} for o in activity["orders"]]
    items += [{"at": e.occurred_at, "kind": "event",
               "text": e.type + (f" · {(e.properties or {}).get('text', '')}" if (e.properties or {}).get("text") else "")}
              for e in activity["events"]]
    if loyalty:
        items += [{"at": c["at"], "kind": "tier", "text": f"{c['from']} → {c['to']} ({c['reason']})"}
                  for c in loyalty["tier_history"]]
    for m in marks:
        items.append({"at": m.set_at, "kind": "mark", "text": f"+ {m.tag} = {m.value} · {m.set_by}"})
        if m.removed_at is not None:
            items.append({"at": m.removed_at, "kind": "mark", "text": f"− {m.tag} = {m.value} · {m.removed_by}"})
    items += [{"at": m.created_at, "kind": "merge", "text": f"{m.absorbed_id} · {m.reason}"} for m in ex.absorbed]
    return sorted(items, key=lambda i: i["at"], reverse=True)[:100]


@router.post("/persons/{person_id}/marks", include_in_schema=False)
def add_mark(request: Request, user: User, person_id: int, tag: Annotated[str, Form()], value: Annotated[str, Form()],
             reason: Annotated[str, Form()] = "") -> RedirectResponse:
    return _decide(request, user, person_id, person_id, lambda s, rt, actor: set_tag(
        s, default(), person_id, tag, value, actor, reason or None))


@router.post("/persons/{person_id}/marks/remove", include_in_schema=False)
def remove_mark(request: Request, user: User, person_id: int, tag: Annotated[str, Form()],
                value: Annotated[str, Form()]) -> RedirectResponse:
    return _decide(request, user, person_id, person_id, lambda s, rt, actor: remove_tag(
        s, default(), person_id, tag, value, actor))


@router.post("/persons/{person_id}/notes", include_in_schema=False)
def add_person_note(request: Request, user: User, person_id: int, text: Annotated[str, Form()],
                    key: Annotated[str, Form()]) -> RedirectResponse:
    return _decide(request, user, person_id, person_id, lambda s, rt, actor: add_note(
        s, resolve_person(s, person_id), text, actor, key))


def _decide(request: Request, user: User, person_id: int, then: int, act: Any) -> RedirectResponse:
    """Run an operator's decision in its own unit of work; a refusal comes back as the page's error."""
    rt = request.app.state.rt
    try:
        with rt.db.unit_of_work() as session:
            act(session, rt, str(user.get("username", "")))
    except SiyuError as exc:
        return RedirectResponse(f"/persons/{person_id}?error={quote(exc.message[:200])}", status_code=303)
    return RedirectResponse(f"/persons/{then}", status_code=303)


@router.post("/persons/{person_id}/split", include_in_schema=False)
def split(request: Request, user: User, person_id: int, profiles: Annotated[list[int], Form()],
          reason: Annotated[str, Form()] = "") -> RedirectResponse:
    return _decide(request, user, person_id, person_id, lambda s, rt, actor: split_person(
        s, rt.vault, rt.settings, person_id, profiles, actor, reason or None))


@router.post("/persons/{person_id}/merge", include_in_schema=False)
def merge(request: Request, user: User, person_id: int, other: Annotated[int, Form()],
          reason: Annotated[str, Form()] = "") -> RedirectResponse:
    return _decide(request, user, person_id, min(person_id, other), lambda s, rt, actor: merge_persons(
        s, rt.vault, rt.settings, person_id, other, actor, reason or None))
