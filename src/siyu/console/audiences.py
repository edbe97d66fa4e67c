"""The tag catalogue and the audience builder: a live count and a sample while the operator types, saving
(dynamic or snapshot), freezing a new version, and exports."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.background import BackgroundTask

from siyu.audiences import occasions, service
from siyu.audiences.export import export
from siyu.audiences.expression import FIELDS
from siyu.console.app import current_user, render
from siyu.core.clock import now
from siyu.core.errors import InvalidInput, NotFound, SiyuError
from siyu.tags.definitions import default
from siyu.tags.service import read_catalogue

router = APIRouter()
User = Annotated[dict[str, Any], Depends(current_user)]
FORMATS = {"csv": ("text/csv", "csv"), "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                                "xlsx"), "hashed": ("text/csv", "csv")}


@router.get("/tags", response_class=HTMLResponse, include_in_schema=False)
def catalogue_page(request: Request, user: User, dimension: str = "") -> HTMLResponse:
    pack = default()
    defs = {t.name: t for t in pack.tags}
    rows = read_catalogue(request.app.state.rt.settings.tagstore_dir)
    tags: dict[str, dict[str, Any]] = {}
    for r in rows:
        d = defs.get(r["tag"])
        dim = d.dimension if d else "channel"
        if dimension and dim != dimension:
            continue
        t = tags.setdefault(r["tag"], {"name": r["tag"], "name_en": d.name_en if d else r["tag"], "dimension": dim,
                                       "kind": d.rule.kind if d else "top", "values": []})
        t["values"].append(r)
    return render(request, "tags.html", tags=list(tags.values()), dimension=dimension, active="tags",
                  dimensions=sorted({t.dimension for t in pack.tags}), values=len(rows),
                  names=len({r["tag"] for r in rows}))


@router.get("/audiences", response_class=HTMLResponse, include_in_schema=False)
def builder_page(request: Request, user: User, q: str = "", error: str = "", saved: str = "") -> HTMLResponse:
    rt = request.app.state.rt
    with rt.db.read_only() as s:
        audiences = service.saved(s)
    pack = default()
    try:  # 人找货: what is in season today
        season = occasions.plan(rt.settings.tagstore_dir, rt.settings.lake_dir, now())
    except NotFound:  # no tag run yet
        season = []
    return render(request, "audiences.html", q=q, error=error, saved=saved, audiences=audiences, active="audiences",
                  season=season,
                  fields=sorted(FIELDS), tags=[(t.name, t.name_en.lower().replace(" ", "_")) for t in pack.tags])


@router.get("/api/audiences/count", tags=["audiences"])
def count_api(request: Request, user: User, q: str, sample: int = 20) -> dict[str, Any]:
    """How many persons an audience expression selects over the last tag run, its readable form, the time
    the count took, and a sample of the persons (tier, points, purchases, spend, recency, city)."""
    if not 0 <= sample <= 200:
        raise InvalidInput(f"sample: {sample} is not between 0 and 200")
    store = request.app.state.rt.settings.tagstore_dir
    service.index(store)  # built once per tag run; the count is what the operator waits for
    t = time.perf_counter()
    got = service.count(store, q, sample)
    ms = (time.perf_counter() - t) * 1000
    rows = service.sample_rows(store, got["sample"])
    return {"count": got["count"], "text": got["text"], "ms": round(ms, 2), "tree": got["tree"],
            "sample": [{k: v for k, v in r.items() if k != "monetary_fen"} | {"spend": f"{(r['monetary_fen'] or 0) / 100:.2f}"}
                       for r in rows]}


@router.post("/audiences", include_in_schema=False)
def save(request: Request, user: User, name: Annotated[str, Form()], expression: Annotated[str, Form()],
         kind: Annotated[str, Form()] = "dynamic") -> RedirectResponse:
    rt = request.app.state.rt
    try:
        with rt.db.unit_of_work() as s:
            service.save(s, rt.settings.tagstore_dir, name, expression, kind=kind, by=str(user.get("username", "")))
    except SiyuError as exc:
        return RedirectResponse(f"/audiences?q={quote(expression)}&error={quote(exc.message[:300])}", status_code=303)
    return RedirectResponse(f"/audiences?q={quote(expression)}&saved={quote(name.strip())}", status_code=303)


@router.post("/audiences/{name}/freeze", include_in_schema=False)
def freeze(request: Request, user: User, name: str) -> RedirectResponse:
    rt = request.app.state.rt
    try:
        with rt.db.unit_of_work() as s:
            service.freeze(s, rt.settings.tagstore_dir, name, by=str(user.get("username", "")))
    except SiyuError as exc:
        return RedirectResponse(f"/audiences?error={quote(exc.message[:300])}", status_code=303)
    return RedirectResponse(f"/audiences?saved={quote(name)}", status_code=303)


@router.get("/audiences/export", include_in_schema=False)
def export_file(request: Request, user: User, q: str, format: str = "csv") -> FileResponse:
    """The audience as a file: members (card, tier, masked phone) in CSV or Excel, or hashed phones."""
    if format not in FORMATS:
        raise InvalidInput(f"format: {format!r} is not csv, xlsx or hashed")
    rt = request.app.state.rt
    folder = Path(tempfile.mkdtemp(prefix="siyu-export-"))
    media, suffix = FORMATS[format]
    path = folder / f"audience-{format}.{suffix}"
    with rt.db.read_only() as s:
        export(s, rt.vault, rt.settings, q, format, path)  # type: ignore[arg-type]
    return FileResponse(path, media_type=media, filename=path.name,
                        background=BackgroundTask(lambda: (path.unlink(missing_ok=True), folder.rmdir())))
