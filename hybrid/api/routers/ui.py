"""The web UI: ``/`` is its page, ``/ui/`` its ES modules and CSS (``hybrid/api/ui``), ``/ui/vendor/plotly.min.js``
Plotly.js from the installed ``plotly`` wheel. No token is needed for these files (they hold no data); the
page asks for one and talks to the API with it (docs/ui.md)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

UI_DIR = Path(__file__).resolve().parent.parent / "ui"
PLOTLY_JS = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
# The page loads only its own files: no CDN, no inline script, nothing framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(UI_DIR / "index.html", headers=SECURITY_HEADERS)


@router.get("/ui/vendor/plotly.min.js")
async def plotly_js() -> FileResponse:
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


def install_ui(app: FastAPI) -> None:
    """Serve the page at ``/`` and its assets under ``/ui``."""
    app.include_router(router)
    app.mount("/ui", StaticFiles(directory=UI_DIR), name="ui")
