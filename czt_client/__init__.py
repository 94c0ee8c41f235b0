"""Typed httpx client for integrators: the gateway API and one city's exchange API.

::

    from czt_client import GatewayClient

    async with GatewayClient("http://127.0.0.1:8000") as gateway:
        await gateway.login_resident("430104198611239369", "czt-demo")
        answer = await gateway.my_records()
        for city in answer.cities:
            print(city.city.name, city.status)

Answers are the exchange standard's own models (:mod:`schemas`); errors are :class:`CztApiError` carrying
the parsed problem+json. See ``docs/integrators.md``.
"""

from czt_client.city import CityExchangeClient
from czt_client.errors import CztApiError, CztContractError, CztError, UntrustedAnswer
from czt_client.gateway import GatewayClient
from czt_client.models import (
    AccessLog,
    AllowedServicesResponse,
    CityStatus,
    ClientGrantee,
    Consent,
    OfficialGrantee,
    Principal,
    ServicesResponse,
    TokenResponse,
)

__all__ = [
    "AccessLog",
    "AllowedServicesResponse",
    "CityExchangeClient",
    "CityStatus",
    "ClientGrantee",
    "Consent",
    "CztApiError",
    "CztContractError",
    "CztError",
    "GatewayClient",
    "OfficialGrantee",
    "Principal",
    "ServicesResponse",
    "TokenResponse",
    "UntrustedAnswer",
]
