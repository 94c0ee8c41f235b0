"""Demo officials and API clients seeded beside the residents (``czt accounts`` lists them)."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_OFFICIAL_PASSWORD = "czt-official"


@dataclass(frozen=True)
class DemoOfficial:
    username: str
    name: str
    city_code: str
    department: str
    role: str


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    secret: str
    name: str
    scopes: str
    city_code: str | None = None


DEMO_OFFICIALS = (
    DemoOfficial("cs-ybj-zhou", "周敏 (长沙市医疗保障局)", "430100", "medical_insurance", "clerk"),
    DemoOfficial("zz-gjj-tan", "谭志强 (株洲市住房公积金管理中心)", "430200", "provident_fund", "clerk"),
    DemoOfficial("xt-rsj-luo", "罗慧 (湘潭市人力资源和社会保障局)", "430300", "talent", "reviewer"),
)

DEMO_CLIENTS = (
    DemoClient(
        "demo-integrator",
        "czt-integrator-secret",
        "Demo integrator (a city IT vendor's test system)",
        "records:read",
    ),
    DemoClient(
        "demo-auditor",
        "czt-auditor-secret",
        "Demo auditor (governance: audit chain, shadow-policy divergences)",
        "governance:admin",
    ),
)

ADMIN_SCOPE = "governance:admin"
"""The scope of API clients that administer governance: the audit log and shadow-policy divergences."""
