"""A real S3-protocol server for tests: moto's standalone server (``moto_server``) in a
subprocess on a free loopback port, and a fresh bucket per test.

Use: ``moto_endpoint, s3_server = s3kit.moto_endpoint, s3kit.s3_server`` in a test module, then take
``s3_server`` (endpoint URL, bucket, a boto3 client; the AWS_* credentials are set in the
environment for the test). Skips with one line when boto3 or moto[server] is missing."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclasses.dataclass
class S3Server:
    endpoint_url: str
    bucket: str
    client: Any
    env: dict[str, str]

    def storage_config(self, **extra: Any) -> dict[str, Any]:
        """The ``[storage]`` overrides of a server using this bucket."""
        return {
            "backend": "s3",
            "endpoint_url": self.endpoint_url,
            "bucket": self.bucket,
            "region": "us-east-1",
            **extra,
        }

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server process for the session: its endpoint URL."""
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError:
        pytest.skip("S3 tests need boto3 and moto[server]: pip install -e '.[test]'")
    exe = shutil.which("moto_server") or shutil.which(
        "moto_server", path=os.path.dirname(sys.executable)
    )
    command = [exe] if exe else [sys.executable, "-m", "moto.server"]
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*command, "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **CREDENTIALS},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"moto_server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def s3_server(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """A fresh bucket on the session's moto server; the AWS_* credentials in the environment."""
    import boto3

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"shortstack-{secrets.token_hex(4)}"
    client.create_bucket(Bucket=bucket)
    return S3Server(moto_endpoint, bucket, client, dict(CREDENTIALS))
