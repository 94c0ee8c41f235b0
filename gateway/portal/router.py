"""Portal routes: the page at ``/``, its static assets, the demo accounts for the picker, and 用证码 QR codes.

None of them is in the OpenAPI document (``include_in_schema=False``): they serve people, not integrators.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any

import segno
from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, TypeAdapter, ValidationError

from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD, DEMO_OFFICIALS
from gateway.deps import SettingsDep
from gateway.portal.page import CONTENT_SECURITY_POLICY, PAGE, STATIC

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_QR_DATA = 512
"""Longer than any portal link to a 用证码; a QR code of that much data is still readable from a screen."""

router = APIRouter(include_in_schema=False)

_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The shell is tiny and changes with every release: always ask again.
    "Cache-Control": "no-cache",
}


class DemoModeOff(Exception):
    """The demo accounts are asked for, but the gateway is not in demo mode (``CZT_GATEWAY_DEMO``)."""


class DemoResident(BaseModel):
    """One persona of the picker, as ``czt run`` writes them to the demo-residents file."""

    key: str
    id_number: str
    name: str
    gender: str
    story_zh: str
    story_en: str
    password: str


class DemoOfficialAccount(BaseModel):
    username: str
    name: str
    city_code: str
    department: str
    role: str
    password: str


DemoResidents = TypeAdapter(list[DemoResident])


class DemoAccounts(BaseModel):
    """Who the presenter can be with one click: the personas and the demo officials, with their demo passwords."""

    residents: list[DemoResident]
    officials: list[DemoOfficialAccount]


class _Revalidated(StaticFiles):
    """Static files the browser revalidates on every load (cheap with their ETag): a new release shows at once,
    although the ES modules import each other by plain, unversioned URLs."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


@router.get("/", response_class=HTMLResponse)
def portal_page() -> HTMLResponse:
    """The portal (一网通办): one page, its views chosen by the URL's fragment (``#/records`` …)."""
    return HTMLResponse(PAGE, headers=_PAGE_HEADERS)


@router.get("/portal/demo")
def demo_accounts(settings: SettingsDep) -> DemoAccounts:
    """The persona picker's accounts; only in demo mode, where the passwords are the published demo ones."""
    if not settings.demo:
        raise DemoModeOff("the persona picker exists only in demo mode (czt run; CZT_GATEWAY_DEMO=true)")
    path = settings.resolved_demo_residents_file
    try:
        residents = DemoResidents.validate_json(path.read_bytes())
    except (OSError, ValidationError):
        raise DemoModeOff(
            f"no demo residents in {path}: `czt run` writes them (CZT_GATEWAY_DEMO_RESIDENTS_FILE)"
        ) from None
    return DemoAccounts(
        residents=residents,
        officials=[
            DemoOfficialAccount(
                username=official.username,
                name=official.name,
                city_code=official.city_code,
                department=official.department,
                role=official.role,
                password=DEMO_OFFICIAL_PASSWORD,
            )
            for official in DEMO_OFFICIALS
        ],
    )


QrData = Annotated[
    str, Query(min_length=1, max_length=MAX_QR_DATA, description="What the QR code encodes (text or a link)")
]


@router.get("/portal/qr.svg")
def qr_code(data: QrData, scale: Annotated[int, Query(ge=1, le=20)] = 6) -> Response:
    """An SVG QR code of ``data``, made here so that the page needs no script or service from elsewhere."""
    qr = segno.make(data, error="m", micro=False)
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=scale, border=2, dark="#111", light="#fff", title="QR", svgclass="qr")
    # no-store: the code in it is a one-time 用证码, not something for a cache to keep.
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return Response(buffer.getvalue(), media_type="image/svg+xml", headers=headers)


def install_portal(app: FastAPI) -> None:
    """Serve the portal from ``app``: its routes, and its assets under ``/portal/static``."""
    app.include_router(router)
    app.mount(STATIC, _Revalidated(directory=STATIC_DIR), name="portal-static")
