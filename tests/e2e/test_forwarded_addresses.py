"""``ips serve`` behind a proxy, as a process: uvicorn and IPS take the caller's address from
``X-Forwarded-For`` only when the connection comes from ``IPS_TRUSTED_PROXIES`` (uvicorn's
own default trusts 127.0.0.1); ``ips merchant add --ws-address`` lists the shop's servers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest

from tests.processes import free_port, run_ips, wait_for_port

AUTH = {"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password", "Format": "3"}


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {**os.environ, "IPS_DATABASE_URL": database_url}
    env.pop("FORWARDED_ALLOW_IPS", None)
    added = run_ips(
        "merchant", "add", "--merchant-id", "111111", "--name", "Walled Shop", "--login", "shop",
        "--password", "shop-password", "--secret-word", "secret",
        "--ws-address", "198.51.100.0/24", "--ws-address", "2001:db8::/48",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    return env


@contextmanager
def serving(cwd: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ips", "serve", "--port", str(port)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_for_port(port, server, lambda: server.communicate()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
        assert "Traceback" not in output, output


async def orderstate(url: str, forwarded_for: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(
            "/orderstate/orderstate.cfm",
            data=AUTH | {"OrderNumber": "nothing"},
            headers={"X-Forwarded-For": forwarded_for},
        )
    result = ET.fromstring(answer.content)
    return result.attrib["firstcode"], result.attrib["secondcode"]


async def test_without_trusted_proxies_a_forwarded_address_is_not_believed(
    tmp_path: Path, env: dict[str, str]
) -> None:
    with serving(tmp_path, env) as url:
        assert await orderstate(url, "198.51.100.9") == ("19", "0")


async def test_behind_a_trusted_proxy_the_forwarded_client_is_the_caller(
    tmp_path: Path, env: dict[str, str]
) -> None:
    with serving(tmp_path, env | {"IPS_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}) as url:
        assert await orderstate(url, "198.51.100.9") == ("10", "201")
        assert await orderstate(url, "198.51.100.9, 10.1.2.3") == ("10", "201")
        assert await orderstate(url, "198.51.100.9, 203.0.113.66") == ("19", "0")


def test_wrong_trusted_proxies_stop_ips_serve_with_a_message(
    tmp_path: Path, env: dict[str, str]
) -> None:
    started = run_ips(
        "serve", "--port", str(free_port()), cwd=tmp_path,
        env=env | {"IPS_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"},
    )  # fmt: skip
    assert started.returncode == 1
    assert "IPS_TRUSTED_PROXIES: 'proxy.example' is not an IP address" in started.stderr


def test_a_wrong_ws_address_adds_no_merchant(tmp_path: Path, env: dict[str, str]) -> None:
    added = run_ips(
        "merchant", "add", "--merchant-id", "222222", "--name", "Other", "--login", "o",
        "--password", "o-password", "--secret-word", "o", "--ws-address", "198.51.100.0/33",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert added.returncode == 1
    assert "'198.51.100.0/33' is not an IP address or a network" in added.stderr
    assert "222222" not in run_ips("merchant", "list", cwd=tmp_path, env=env).stdout


def test_a_wrong_network_in_a_setting_stops_the_command_with_its_name(tmp_path: Path) -> None:
    env = {**os.environ, "IPS_TRUSTED_PROXIES": "127.0.0.1,proxy.example"}
    refused = run_ips("serve", "--port", str(free_port()), cwd=tmp_path, env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: IPS_TRUSTED_PROXIES: 'proxy.example' is not an IP address or a network (CIDR)"
    )
