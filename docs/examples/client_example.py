"""The Python client (``czt_client``) in a few lines: the gateway as a resident and an official, then one city directly.

Against the running sandbox (``make run`` in another terminal)::

    .venv/bin/python docs/examples/client_example.py
    TOKEN=$(.venv/bin/czt token service --audience 430300 --subject 430104198611239369)
    .venv/bin/python docs/examples/client_example.py "$TOKEN"

``tests/czt_client/test_docs_example.py`` runs these functions against the in-process sandbox, and checks that
every code block of docs/integrators.md is taken from this file.
"""

from __future__ import annotations

import asyncio
import sys

import httpx

from czt_client import CityExchangeClient, CztApiError, GatewayClient

GATEWAY_URL = "http://127.0.0.1:8000"
XIANGTAN_URL = "http://127.0.0.1:8003"
CHEN_JING = "430104198611239369"  # 陈静: records in all three cities


async def my_records(gateway_url: str = GATEWAY_URL, transport: httpx.AsyncBaseTransport | None = None) -> list[str]:
    """陈静 reads her own records from every city through the gateway (一网通办)."""
    lines = []
    async with GatewayClient(gateway_url, transport=transport) as gateway:
        await gateway.login_resident(CHEN_JING, "czt-demo")
        answer = await gateway.my_records()
        for result in answer.cities:
            lines.append(f"{result.city.name}: {result.status}")
    return lines


async def an_officials_typo(gateway_url: str = GATEWAY_URL, transport: httpx.AsyncBaseTransport | None = None) -> str:
    """An official mistypes an ID number: the error is typed, and names the field."""
    async with GatewayClient(gateway_url, transport=transport) as gateway:
        await gateway.login_official("zz-gjj-tan", "czt-official")
        try:
            await gateway.resident_records("430203199005129170", purpose="case-handling")
        except CztApiError as error:
            # error.type is a stable URN; error.request_id is what to quote when reporting it
            return f"{error.status} {error.invalid_params[0].name}: {error.invalid_params[0].reason}"
    return "no error"


async def from_the_city(
    token: str, city_url: str = XIANGTAN_URL, transport: httpx.AsyncBaseTransport | None = None
) -> str:
    """湘潭's canonical records on 陈静, asked directly with a service token (sandbox only)."""
    async with CityExchangeClient(city_url, city_code="430300", token=token, transport=transport) as city:
        records = await city.person_records(CHEN_JING)  # the city's signature is checked before this returns
        fund = records.provident_fund
        return f"{records.person.name} in {records.city.name}: fund account {fund.account.status if fund else 'none'}"


async def main(token: str | None) -> None:
    for line in await my_records():
        print(line)
    print(await an_officials_typo())
    if token:
        print(await from_the_city(token))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
