"""Syslog over TLS (RFC 5425), with and without client-certificate verification."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.conftest import admin_client, free_port, need_program
from tests.e2e.conftest import running_product, wait_for_events

from opsconductor.runtime import Runtime


def _openssl(*args: str) -> None:
    subprocess.run([need_program("openssl"), *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl."""
    d = tmp_path_factory.mktemp("pki")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        str(d / "ca.key"),
        "-out",
        str(d / "ca.pem"),
    )
    for name in ("server", "client"):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            str(d / f"{name}.key"),
            "-out",
            str(d / f"{name}.csr"),
        )
        ext = d / f"{name}.ext"
        ext.write_text(
            "subjectAltName=IP:127.0.0.1\n" if name == "server" else "extendedKeyUsage=clientAuth\n"
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            str(d / f"{name}.csr"),
            "-CA",
            str(d / "ca.pem"),
            "-CAkey",
            str(d / "ca.key"),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            str(ext),
            "-out",
            str(d / f"{name}.pem"),
        )
    return d


@pytest.fixture
async def tls_product(
    pki: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> AsyncIterator[Runtime]:
    env = {
        "OPSC_DATA_DIR": str(tmp_path / "data"),
        "OPSC_HTTP_PORT": str(free_port()),
        "OPSC_SYSLOG_HOST": "127.0.0.1",
        "OPSC_SYSLOG_UDP_PORT": "0",
        "OPSC_SYSLOG_TCP_PORT": "0",
        "OPSC_SYSLOG_TLS_PORT": str(free_port()),
        "OPSC_SYSLOG_TLS_CERT": str(pki / "server.pem"),
        "OPSC_SYSLOG_TLS_KEY": str(pki / "server.key"),
        "OPSC_SYSLOG_TLS_CLIENT_CA": str(pki / "ca.pem"),
    }
    async with running_product(env, monkeypatch) as runtime:
        yield runtime


def _client_context(pki: Path, *, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if with_cert:
        context.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))
    return context


async def test_tls_with_client_certificate(tls_product: Runtime, pki: Path) -> None:
    token = uuid.uuid4().hex
    record = f"<14>1 2026-01-01T00:00:00Z r1 app - - - over tls {token}".encode()
    _, writer = await asyncio.open_connection(
        "127.0.0.1",
        tls_product.settings.syslog_tls_port,
        ssl=_client_context(pki, with_cert=True),
    )
    writer.write(b"%d %s" % (len(record), record))
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    assert tls_product.http_url
    async with admin_client(tls_product.http_url) as api:
        [event] = await wait_for_events(api, 1, q=token)
    assert event["source"] == "syslog-tls"
    assert event["host"] == "r1"


async def test_tls_without_client_certificate_is_refused(tls_product: Runtime, pki: Path) -> None:
    with pytest.raises((ssl.SSLError, ConnectionError)):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1",
            tls_product.settings.syslog_tls_port,
            ssl=_client_context(pki, with_cert=False),
        )
        writer.write(b"<14>1 - r1 app - - - should not arrive\n")
        await writer.drain()
        # TLS 1.3 reports the refused certificate on the first read.
        data = await reader.read(1)
        assert data == b"", "the server accepted a client without a certificate"
        raise ConnectionError("closed by the server")
