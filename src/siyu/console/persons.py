"""The OneID pages: find a person, see what joined their records, split or merge them."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from siyu.console.app import current_user, render
from siyu.core.clock import local
from siyu.core.errors import NotFound, SiyuError
from siyu.identity.explain import explain
from siyu.identity.lookup import find_person
from siyu.identity.service import merge_persons, split_person
from siyu.loyalty import versions
from siyu.loyalty.service import member_loyalty

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
    rt = request.app.state.rt
    try:
        with rt.db.read_only() as session:
            ex = explain(session, rt.vault, rt.settings, person_id)
            loyalty = member_loyalty(session, versions.active(session), ex.person_id)
    except NotFound:
        return render(request, "persons.html", q=str(person_id), missing=True, active="persons", status=404)
    if ex.person_id != person_id:
        return RedirectResponse(f"/persons/{ex.person_id}", status_code=303)  # type: ignore[return-value]
    return render(request, "person.html", ex=ex, error=error, active="persons", loyalty=loyalty, local=local)


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
