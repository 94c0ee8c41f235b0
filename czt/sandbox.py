"""The running sandbox, as ``czt run`` describes it in ``<data_dir>/sandbox.json``.

``czt run`` (sandbox mode, the default) writes this file once every process is healthy and removes it
when it stops. The integrator's commands read it to find the running services without being told:
``czt fault`` (each city's URL and the admin token of its ``/_admin`` API), ``czt token service``
(only while a sandbox is running: it signs with the gateway's key in the same data folder) and
``czt conformance`` (the cities' URLs). The file holds a secret (the admin token) and is written 0600.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel, Field

SANDBOX_FILE = "sandbox.json"


class SandboxCity(BaseModel):
    code: str
    slug: str = Field(description="The profile's short name, e.g. zhuzhou")
    name: str
    name_en: str = ""
    url: str


class SandboxInfo(BaseModel):
    """What a running sandbox is made of, and the admin token its cities accept on ``/_admin``."""

    gateway_url: str
    cities: list[SandboxCity]
    admin_token: str = Field(description="Bearer token for every city's /_admin API (sandbox mode only)")

    def city(self, name_or_code: str) -> SandboxCity | None:
        """A city by slug (``zhuzhou``), code (``430200``) or Chinese or English name, case-insensitive."""
        wanted = name_or_code.strip().lower()
        return next(
            (c for c in self.cities if wanted in {c.slug.lower(), c.code, c.name.lower(), c.name_en.lower()}), None
        )


class NoSandbox(RuntimeError):
    """No sandbox is running from this data folder (no ``sandbox.json``)."""


def sandbox_path(data_dir: Path) -> Path:
    return data_dir / SANDBOX_FILE


def new_admin_token() -> str:
    return secrets.token_urlsafe(24)


def write_sandbox(data_dir: Path, info: SandboxInfo) -> Path:
    """Write ``sandbox.json`` readable by its owner only (it carries the admin token)."""
    path = sandbox_path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(info.model_dump(), ensure_ascii=False, indent=2) + "\n")
    return path


def read_sandbox(data_dir: Path) -> SandboxInfo:
    """The running sandbox; :class:`NoSandbox` when ``czt run`` is not running from ``data_dir``."""
    path = sandbox_path(data_dir)
    try:
        return SandboxInfo.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NoSandbox(
            f"no sandbox is running from {data_dir}/ ({path} is missing): start one with `make run` or `czt run`"
        ) from None


def remove_sandbox(data_dir: Path) -> None:
    sandbox_path(data_dir).unlink(missing_ok=True)
