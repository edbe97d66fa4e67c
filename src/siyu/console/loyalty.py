"""The loyalty page: the programme as configured and the points liability."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from siyu.console.app import current_user, render
from siyu.core.clock import local
from siyu.loyalty import versions
from siyu.loyalty.reports import liability

router = APIRouter()
User = Annotated[dict[str, Any], Depends(current_user)]


@router.get("/loyalty", response_class=HTMLResponse, include_in_schema=False)
def loyalty_page(request: Request, user: User) -> Any:
    rt = request.app.state.rt
    with rt.db.read_only() as session:  # units of work stay inside handlers (see pages.login)
        li = liability(session)
        prog = versions.active(session)
        recorded = versions.history(session)
    return render(request, "loyalty.html", li=li, prog=prog, recorded=recorded[::-1], active="loyalty",
                  local=local)
