"""The console application: sessions, locale, login, and the pages of each domain."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from siyu.bootstrap import Runtime
from siyu.console.i18n import LOCALES, translator
from siyu.core.errors import SiyuError
from siyu.core.money import format_yuan
from siyu.ingest.memo import ProfileMemo

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


templates.env.filters["money"] = lambda fen: "¥" + format_yuan(fen)
templates.env.filters["pct"] = lambda v: f"{v * 100:.1f}%"
templates.env.filters["num"] = lambda v: f"{int(v):,}"


def locale_of(request: Request) -> str:
    loc = request.session.get("locale")
    return loc if loc in LOCALES else request.app.state.rt.settings.default_locale


def render(request: Request, name: str, status: int = 200, **context: object) -> HTMLResponse:
    loc = locale_of(request)
    return templates.TemplateResponse(request, name, {"t": translator(loc), "locale": loc,
                                                      "user": request.session.get("user"), **context},
                                      status_code=status)


class LoginRequired(Exception):
    pass


def current_user(request: Request) -> dict[str, object]:
    user = request.session.get("user")
    if not user:
        raise LoginRequired
    return user


def create_app(rt: Runtime) -> FastAPI:
    from siyu.api import ingest as ingest_api
    from siyu.api import loyalty as loyalty_api
    from siyu.api import segment as segment_api
    from siyu.api import webhooks as webhooks_api
    from siyu.console import audiences, loyalty, pages, persons

    app = FastAPI(title="Siyu", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.rt = rt
    app.state.profile_memo = ProfileMemo()
    app.add_middleware(SessionMiddleware, secret_key=rt.vault.session_secret, session_cookie="siyu_session",
                       same_site="lax", https_only=False, max_age=12 * 3600)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(persons.router)
    app.include_router(loyalty.router)
    app.include_router(audiences.router)
    app.include_router(ingest_api.router)
    app.include_router(loyalty_api.router)
    app.include_router(segment_api.router)
    app.include_router(webhooks_api.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired):  # type: ignore[no-untyped-def]
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "login required"}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(SiyuError)
    async def _domain(request: Request, exc: SiyuError):  # type: ignore[no-untyped-def]
        if request.url.path.startswith(("/v1/", "/webhooks/")):
            # Segment clients read ``code`` and ``message`` from an error body.
            return JSONResponse({"success": False, "code": type(exc).__name__, "message": str(exc)},
                                status_code=exc.status)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return render(request, "error.html", status=exc.status, message=str(exc))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
