"""GET /docs: Swagger UI served from an installed package, so the docs work offline.

FastAPI's own /docs loads Swagger UI from a CDN: behind a firewall or offline it is a blank
page. The assets come from PyPI's `swagger-ui-bundle` instead, mounted at /docs/assets.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

__all__ = ["ASSETS_URL", "DOCS_URL", "OPENAPI_URL", "assets", "router"]

DOCS_URL = "/docs"
OPENAPI_URL = "/openapi.json"
ASSETS_URL = "/docs/assets"

router = APIRouter(include_in_schema=False)


def assets() -> StaticFiles:
    """The Swagger UI files of the installed bundle, for `app.mount(ASSETS_URL, ...)`."""
    return StaticFiles(directory=swagger_ui_path)


@router.get(DOCS_URL)
async def docs(request: Request) -> HTMLResponse:
    """Swagger UI for this API's OpenAPI document, with no request leaving the host."""
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{request.app.title} - docs",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
    )


@router.get(OPENAPI_URL)
async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document (served by this route so that it is counted under its name)."""
    return JSONResponse(request.app.openapi())
