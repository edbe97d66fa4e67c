"""The loyalty page: the programme as configured and the points liability."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from siyu.console.app import current_user, render
from siyu.loyalty import programme
from siyu.loyalty.reports import liability

router = APIRouter()
User = Annotated[dict[str, Any], Depends(current_user)]


@router.get("/loyalty", response_class=HTMLResponse, include_in_schema=False)
def loyalty_page(request: Request, user: User) -> Any:
    rt = request.app.state.rt
    with rt.db.read_only() as session:  # units of work stay inside handlers (see pages.login)
        li = liability(session)
    return render(request, "loyalty.html", li=li, prog=programme.default(), active="loyalty")
