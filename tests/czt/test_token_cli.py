"""``czt token service``: a gateway-signed service token for calling a city directly, in the sandbox only."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from jose import jwt
from typer.testing import CliRunner

from commons.jwks import StaticKeys
from commons.keys import SigningKey
from czt.cli import app
from czt.sandbox import SandboxCity, SandboxInfo, write_sandbox
from mock_cities.auth import ServiceTokenRejected, verify_service_token
from mock_cities.profiles import CityProfile
from tests.conftest import city_app, start_cities

runner = CliRunner()
LIU_YANG = "430203199005129171"


@pytest.fixture(autouse=True)
def no_sandbox_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CZT_GATEWAY_SANDBOX", "CZT_GATEWAY_SIGNING_KEY_FILE", "CZT_GATEWAY_ISSUER"):
        monkeypatch.delenv(name, raising=False)


def gateway_key(data_dir: Path) -> SigningKey:
    """The sandbox gateway's key, where ``czt run`` keeps it."""
    return SigningKey.load_or_create(data_dir / "keys" / "gateway-es256.pem")


def sandbox(data_dir: Path, profiles: list[CityProfile]) -> SandboxInfo:
    info = SandboxInfo(
        gateway_url="http://127.0.0.1:8000",
        cities=[
            SandboxCity(code=p.code, slug=p.slug, name=p.name, name_en=p.name_en, url=f"http://127.0.0.1:{8001 + i}")
            for i, p in enumerate(profiles)
        ],
        admin_token="admin-token-for-tests-0123456789",
    )
    write_sandbox(data_dir, info)
    return info


def mint(data_dir: Path, *options: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["token", "service", "--data-dir", str(data_dir), *options])
    return result.exit_code, result.stdout, result.stderr


def test_refused_without_a_running_sandbox(tmp_path: Path) -> None:
    gateway_key(tmp_path)
    code, out, err = mint(tmp_path, "--audience", "430200", "--subject", LIU_YANG)
    assert code == 2 and out == ""
    assert "refused" in err and "sandbox" in err and "CZT_GATEWAY_SANDBOX" in err


def test_refused_when_the_sandbox_has_no_gateway_key(tmp_path: Path, profiles: list[CityProfile]) -> None:
    sandbox(tmp_path, profiles)
    code, out, err = mint(tmp_path, "--audience", "430200", "--subject", LIU_YANG)
    assert code == 2 and out == ""
    assert "no gateway key" in err
    assert not (tmp_path / "keys" / "gateway-es256.pem").exists()  # a key no city trusts is never made up


async def test_the_printed_token_is_what_a_city_accepts(
    tmp_path: Path, profiles: list[CityProfile], city_database_urls: dict[str, str]
) -> None:
    key = gateway_key(tmp_path)
    sandbox(tmp_path, profiles)
    code, out, err = mint(tmp_path, "--audience", "430200", "--subject", LIU_YANG, "--purpose", "fund-transfer")
    assert code == 0, err
    token = out.strip()
    assert out == token + "\n" and token.count(".") == 2  # only the token: TOKEN=$(czt token service …) works
    assert "PRIVATE" not in out + err

    claims = await verify_service_token(token, keys=StaticKeys(key.jwks()), city_code="430200", issuer="czt-gateway")
    assert (claims.aud, claims.sub, claims.purpose) == ("430200", LIU_YANG, "fund-transfer")
    assert claims.client_id == "czt-token-service" and claims.decision_id.startswith("sandbox-")
    assert claims.exp - claims.iat == 300
    with pytest.raises(ServiceTokenRejected, match="audience"):
        await verify_service_token(token, keys=StaticKeys(key.jwks()), city_code="430100", issuer="czt-gateway")
    assert f"http://127.0.0.1:8002/exchange/v1/persons/{LIU_YANG}/records" in err  # the curl hint, on stderr

    zhuzhou = next(p for p in profiles if p.code == "430200")
    async with AsyncExitStack() as stack:
        city = city_app(zhuzhou, city_database_urls["430200"], key)
        await start_cities(stack, {"430200": city})
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=city), base_url="http://zz.test") as client:
            response = await client.get(
                f"/exchange/v1/persons/{LIU_YANG}/records", headers={"Authorization": f"Bearer {token}"}
            )
    assert response.status_code == 200, response.text
    assert response.json()["person"]["name"] == "刘洋"


def test_a_sandbox_city_can_be_named_and_the_ttl_chosen(tmp_path: Path, profiles: list[CityProfile]) -> None:
    key = gateway_key(tmp_path)
    sandbox(tmp_path, profiles)
    code, out, err = mint(tmp_path, "--audience", "xiangtan", "--subject", LIU_YANG, "--ttl", "30")
    assert code == 0, err
    claims = jwt.decode(out.strip(), key.public_jwk, algorithms=["ES256"], audience="430300")
    assert claims["exp"] - claims["iat"] == 30 and claims["purpose"] == "self-service"


def test_the_environment_can_declare_a_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = gateway_key(tmp_path)
    monkeypatch.setenv("CZT_GATEWAY_SANDBOX", "true")
    code, out, err = mint(tmp_path, "--audience", "430900", "--subject", LIU_YANG)  # any city code, then
    assert code == 0, err
    assert jwt.get_unverified_claims(out.strip())["aud"] == "430900"
    assert jwt.get_unverified_header(out.strip())["kid"] == key.kid

    monkeypatch.setenv("CZT_GATEWAY_SANDBOX", "perhaps")
    code, out, err = mint(tmp_path, "--audience", "430900", "--subject", LIU_YANG)
    assert (code, out) == (2, "") and "CZT_GATEWAY_SANDBOX must be true or false" in err


def test_a_city_outside_the_sandbox_is_refused_naming_the_cities(tmp_path: Path, profiles: list[CityProfile]) -> None:
    gateway_key(tmp_path)
    sandbox(tmp_path, profiles)
    code, out, err = mint(tmp_path, "--audience", "430600", "--subject", LIU_YANG)
    assert (code, out) == (2, "")
    assert "--audience" in err and "zhuzhou" in err and "430300" in err


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--audience", "43020", "--subject", LIU_YANG], "--audience"),
        (["--audience", "430200", "--subject", "430203199005129172"], "--subject"),
        (["--audience", "430200", "--subject", "liu-yang"], "--subject"),
        (["--audience", "430200", "--subject", LIU_YANG, "--purpose", "curiosity"], "--purpose"),
        (["--audience", "430200", "--subject", LIU_YANG, "--ttl", "0"], "--ttl"),
        (["--audience", "430200", "--subject", LIU_YANG, "--ttl", "86400"], "--ttl"),
        (["--subject", LIU_YANG], "--audience"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], named: str
) -> None:
    gateway_key(tmp_path)
    monkeypatch.setenv("CZT_GATEWAY_SANDBOX", "true")
    code, out, err = mint(tmp_path, *options)
    assert (code, out) == (2, "")
    assert named in err
