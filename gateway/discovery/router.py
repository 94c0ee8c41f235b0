"""Service discovery routes (like X-Road's listMethods and allowedMethods)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from commons.problems import problem_responses
from gateway.deps import CurrentPrincipal, GovernanceDep, RegistryDep
from gateway.discovery import service
from gateway.discovery.models import AllowedServicesResponse, ServicesResponse

router = APIRouter(tags=["discovery"])


@router.get("/v1/services")
def list_services(governance: GovernanceDep, registry: RegistryDep) -> ServicesResponse:
    """Every city of the registry and every service of the exchange: routes, purposes, the data each reads.

    Public, like a service catalogue: it says what exists, not who may use it (see ``/v1/services/allowed``).
    """
    cities = [(client.entry.ref, client.breaker.state) for client in registry.clients]
    return service.list_services(policy=governance.policy, cities=cities)


@router.get("/v1/services/allowed", responses=problem_responses(401))
def allowed_services(
    request: Request, principal: CurrentPrincipal, governance: GovernanceDep, registry: RegistryDep
) -> AllowedServicesResponse:
    """What the signed-in caller may use under the policy in force, and what not with the rule that says so.

    Decided exactly as a real call would be, with no consent in hand: ``consent-required`` services become
    usable once the data subject grants a consent (``/v1/me/consents``).
    """
    return service.allowed_services(principal=principal, policy=governance.policy, cities=registry.codes)
