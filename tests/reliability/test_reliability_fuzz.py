"""Bad input: schemathesis against every endpoint of the live server, and an upload fuzz of broken
files and malformed multipart bodies; never a 5xx, never a schema break, nothing left behind."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from reliakit import leftovers, make_clip, seed_video, wait_status
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from shortstack.media.fixture_clips import truncate, write_audio_only, write_png

SKIP_OPERATIONS = {
    "events",  # an endless Server-Sent Events stream
    "logout",  # would revoke the fuzzer's own token (covered by the authz tests)
    "logout_everywhere",  # the same, for every token (covered by tests/server/test_account_security.py)
    "lab_simulate",  # seconds of CPU per call by design (bounded, one at a time); not fuzzed
}
FUZZ_STATS: Counter = Counter()


def _run_cases(live, auth, operation, strategy, examples: int, failures: list[str]) -> None:
    """Draw `examples` cases of one operation, call the server, collect failures (no shrinking)."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case) -> None:
        try:
            response = case.call(base_url=live.url, headers=auth, timeout=30)
        except Exception as exc:  # noqa: BLE001 - e.g. a header requests refuses to send
            FUZZ_STATS["unsendable"] += 1
            if "Invalid" not in str(exc) and "header" not in str(exc).lower():
                failures.append(f"{operation.label}: {type(exc).__name__}: {exc}")
            return
        FUZZ_STATS["requests"] += 1
        FUZZ_STATS[f"{response.status_code // 100}xx"] += 1
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except Exception as exc:  # noqa: BLE001 - collect, do not shrink
            if len(failures) < 50:
                failures.append(
                    f"{operation.label} {case.path_parameters} {case.query} "
                    f"{str(case.body)[:80]!r} -> {response.status_code}: {str(exc)[:400]}"
                )

    run()


def _fuzz_api(live, examples: int, *, thorough: bool = False) -> list[str]:
    """Every operation, positive and negative data, real path ids (and random ones when
    thorough); the failures."""
    token = live.register("fuzzer")
    other = live.register("fuzzee")
    real = {
        "video_id": seed_video(live.db_path, "fuzzer", "fuzz target #tag"),
        "handle": "fuzzee",
    }
    r = live.client.post(
        f"/api/videos/{real['video_id']}/comments", json={"body": "x"}, headers=live.auth(other)
    )
    real["comment_id"] = r.json()["id"]
    real["rendition"] = "240p"
    auth = live.auth(token)
    schema = schemathesis.openapi.from_url(live.url + "/schema/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") in SKIP_OPERATIONS:
            continue
        names = {p.name for p in operation.path_parameters}
        variants = [{}] if thorough or not names else []
        if names:
            variants.append({k: v for k, v in real.items() if k in names})
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path_parameters in variants:
                try:
                    strategy = operation.as_strategy(
                        generation_mode=mode, path_parameters=path_parameters or None
                    )
                except Exception as exc:  # noqa: BLE001 - a schema schemathesis cannot invert
                    failures.append(f"{operation.label}: no strategy: {exc}")
                    continue

                _run_cases(live, auth, operation, strategy, examples, failures)
    return failures


def test_schemathesis_every_endpoint(live_server) -> None:
    failures = _fuzz_api(live_server, examples=2)
    print(f"API fuzz: {dict(FUZZ_STATS)}")
    assert not failures, "\n".join(failures)
    assert FUZZ_STATS["5xx"] == 0
    assert "Traceback" not in (live_server.data_dir / "server.log").read_text()


@pytest.mark.slow
def test_schemathesis_every_endpoint_thoroughly(live_server) -> None:
    failures = _fuzz_api(live_server, examples=30, thorough=True)
    print(f"API fuzz: {dict(FUZZ_STATS)}")
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- uploads

BOUNDARY = "fuzzboundary7MA4YWxkTrZu0gW"


def _part(
    name: str,
    body: bytes,
    filename: str | bytes | None = None,
    ctype: str = "video/mp4",
    extra: bytes = b"",
) -> bytes:
    disposition = f'form-data; name="{name}"'.encode()
    if filename is not None:
        raw = filename.encode("utf-8", "surrogateescape") if isinstance(filename, str) else filename
        disposition += b'; filename="' + raw + b'"'
    head = b"Content-Disposition: " + disposition + b"\r\n"
    if filename is not None:
        head += f"Content-Type: {ctype}\r\n".encode()
    return b"--" + BOUNDARY.encode() + b"\r\n" + head + extra + b"\r\n" + body + b"\r\n"


def _close() -> bytes:
    return b"--" + BOUNDARY.encode() + b"--\r\n"


def _flip(data: bytes, rng: random.Random, n: int) -> bytes:
    out = bytearray(data)
    for _ in range(n):
        i = rng.randrange(len(out) // 4, len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def _raw_post(url: str, auth: dict[str, str], declared: int, body: bytes) -> tuple[int, str]:
    """POST with a Content-Length that lies (httpx refuses to send one); the status and body."""
    import socket

    host, port = httpx.URL(url).host, httpx.URL(url).port
    head = (
        f"POST /api/videos HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {declared}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head + body)  # and then nothing more: the server must not wait for 50 MiB
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace")


def _snapshot(root: Path, data_dir: Path) -> set[str]:
    """Every path under root outside the data dir (where nothing may appear)."""
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if data_dir not in p.parents and p != data_dir
    }


def test_upload_fuzz(make_server, tmp_path: Path) -> None:
    live = make_server(
        limits={
            "max_upload_mb": 2,
            "api_rate_per_minute": 100_000,
            "login_rate_per_minute": 100_000,
        }
    )
    token = live.register("upfuzz")
    auth = live.auth(token)
    rng = random.Random(7)
    clips = tmp_path / "clips"
    clips.mkdir()
    good = make_clip(clips / "good.mp4").read_bytes()
    files = {
        "truncated": truncate(clips / "good.mp4", clips / "trunc.mp4", 0.5).read_bytes(),
        "truncated_head": good[:200],
        "bitflip_few": _flip(good, rng, 8),
        "bitflip_many": _flip(good, rng, 400),
        "random": os.urandom(50_000),
        "zeros": bytes(40_000),
        "png": write_png(clips / "x.png").read_bytes(),
        "audio_only": write_audio_only(clips / "a.m4a").read_bytes(),
        "text": b"#!/bin/sh\nrm -rf /\n" * 100,
        "mp4_magic_only": good[:32] + os.urandom(5000),
    }
    root = live.data_dir.parent
    before = _snapshot(root, live.data_dir)

    def post(body: bytes, ctype: str | None = None) -> httpx.Response:
        default = f"multipart/form-data; boundary={BOUNDARY}"
        hdrs = {**auth, "Content-Type": default if ctype is None else ctype}
        return live.client.post("/api/videos", content=body, headers=hdrs)

    cases: dict[str, tuple[httpx.Response, tuple[int, ...]]] = {}
    accepted: list[str] = []
    for name, data in files.items():
        r = post(
            _part("caption", b"fuzz " + name.encode())
            + _part("file", data, f"{name}.mp4")
            + _close()
        )
        cases[f"file:{name}"] = (r, (202, 422))
        if r.status_code == 202:
            accepted.append(r.json()["id"])
    malformed = {
        "no_boundary": (_part("file", good, "a.mp4") + _close(), "multipart/form-data", (415,)),
        "json_type": (_part("file", good, "a.mp4") + _close(), "application/json", (415, 422)),
        "text_type": (good, "video/mp4", (415,)),
        "no_type": (good, "", (415,)),
        "two_files": (
            _part("file", good, "a.mp4") + _part("file", good, "b.mp4") + _close(),
            None,
            (422,),
        ),
        "no_file": (_part("caption", b"only a caption") + _close(), None, (422,)),
        "empty_file": (_part("file", b"", "e.mp4") + _close(), None, (422,)),
        "no_closing": (_part("file", good, "a.mp4"), None, (422,)),
        "garbage_body": (os.urandom(4000), None, (422,)),
        "empty_body": (b"", None, (422,)),
        "huge_header": (
            _part("file", good, "a.mp4", extra=b"X-Pad: " + b"a" * 20_000 + b"\r\n") + _close(),
            None,
            (422,),
        ),
        "many_headers": (
            _part("file", good, "a.mp4", extra=b"".join(b"X-%d: y\r\n" % i for i in range(2000)))
            + _close(),
            None,
            (422,),
        ),
        "many_parts": (
            b"".join(_part(f"f{i}", b"x") for i in range(100))
            + _part("file", good, "a.mp4")
            + _close(),
            None,
            (422,),
        ),
        "huge_caption": (
            _part("caption", b"c" * 40_000) + _part("file", good, "a.mp4") + _close(),
            None,
            (422,),
        ),
        "long_caption": (
            _part("caption", b"c" * 3000) + _part("file", good, "a2.mp4") + _close(),
            None,
            (422,),
        ),
        "bad_utf8_caption": (
            _part("caption", b"\xff\xfe\xc0 #tag")
            + _part("file", _flip(good, rng, 1), "u.mp4")
            + _close(),
            None,
            (202, 409, 422),
        ),
        "too_big": (_part("file", os.urandom(3 * 1024 * 1024), "big.mp4") + _close(), None, (413,)),
        "nested_multipart_type": (
            _part("file", good, "a.mp4", ctype="multipart/mixed; boundary=zz") + _close(),
            None,
            (202, 409, 415, 422),
        ),
        "file_as_text_type": (
            _part("file", _flip(good, rng, 1), "t.txt", ctype="text/plain") + _close(),
            None,
            (202, 409, 415, 422),
        ),
        "boundary_in_quotes": (
            _part("file", good, "q.mp4") + _close(),
            f'multipart/form-data; boundary="{BOUNDARY}"',
            (202, 409),
        ),
        "long_boundary": (
            b"--" + b"b" * 5000 + b"\r\n\r\nx\r\n--" + b"b" * 5000 + b"--\r\n",
            "multipart/form-data; boundary=" + "b" * 5000,
            (415, 422),
        ),
    }
    for name, (body, ctype, allowed) in malformed.items():
        r = post(body, ctype)
        cases[name] = (r, allowed)
        if r.status_code == 202:
            accepted.append(r.json()["id"])
    names = {
        "dotdot": "../../../../etc/passwd",
        "dotdot_win": "..\\..\\..\\windows\\system32\\x.mp4",
        "absolute": "/tmp/owned.mp4",
        "nul": "a\x00b.mp4",
        "long": "n" * 300 + ".mp4",
        "crlf": "a.mp4\r\nX-Injected: 1",
        "unicode": "\u202egnp.mp4",
        "dot": ".",
        "empty": "",
    }
    for i, (name, filename) in enumerate(names.items()):
        body = _part("file", _flip(good, random.Random(100 + i), 1), filename) + _close()
        r = post(body)
        cases[f"name:{name}"] = (r, (202, 409, 422))
        if r.status_code == 202:
            accepted.append(r.json()["id"])
    # a lying Content-Length
    status, text = _raw_post(live.url, auth, 50 * 1024 * 1024, _part("file", good, "a.mp4"))
    cases["lying_length"] = (
        httpx.Response(status, text=text, headers={"content-type": "application/problem+json"}),
        (413,),
    )

    bad = [
        f"{name}: {r.status_code} not in {allowed}: {r.text[:200]}"
        for name, (r, allowed) in cases.items()
        if r.status_code not in allowed
    ]
    for name, (r, _) in cases.items():
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), name
    assert not bad, "\n".join(bad)
    FUZZ_STATS["upload_cases"] += len(cases)
    for video_id in accepted:  # accepted oddities finish one way or the other, never hang
        status = wait_status(live.url, video_id, timeout=120, headers=auth)["status"]
        assert status in ("ready", "failed")
    time.sleep(0.2)
    assert _snapshot(root, live.data_dir) == before, "a file appeared outside the data dir"
    assert leftovers(live.data_dir) == {"tmp": [], "orphans": [], "partials": []}
    for p in live.data_dir.rglob("*"):
        assert p.resolve().is_relative_to(live.data_dir.resolve())
    assert "Traceback" not in (live.data_dir / "server.log").read_text()


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    pieces=st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from(
                [
                    b"--" + BOUNDARY.encode(),
                    b"--" + BOUNDARY.encode() + b"--",
                    b"\r\n",
                    b'Content-Disposition: form-data; name="file"; filename="x.mp4"\r\n',
                    b'Content-Disposition: form-data; name="caption"\r\n',
                    b"Content-Type: video/mp4\r\n",
                    b"\r\n\r\n",
                ]
            ),
        ),
        max_size=25,
    )
)
def test_random_multipart_bodies(upload_server, pieces: list[bytes]) -> None:
    live, token = upload_server
    r = live.client.post(
        "/api/videos",
        content=b"".join(pieces),
        headers={**live.auth(token), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    FUZZ_STATS["random_multipart"] += 1
    assert r.status_code in (202, 409, 413, 415, 422), r.text
    assert leftovers(live.data_dir)["tmp"] == []


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory: pytest.TempPathFactory):
    """A module-wide server for the hypothesis-driven multipart fuzz (one user)."""
    import msgspec

    from shortstack.server.config import Config
    from shortstack.server.embedded import EmbeddedServer

    config = msgspec.convert(
        {
            "server": {"log_requests": False},
            "limits": {"api_rate_per_minute": 100_000, "login_rate_per_minute": 100_000},
        },
        Config,
    )
    server = EmbeddedServer(config, tmp_path_factory.mktemp("multipart") / "data").start()
    client = httpx.Client(base_url=server.url, timeout=30)

    class Live:
        url = server.url
        data_dir = server.data_dir

        def __init__(self) -> None:
            self.client = client

        @staticmethod
        def auth(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

    r = client.post("/api/auth/register", json={"handle": "multi", "password": "kettle-harbor-58"})
    try:
        yield Live(), r.json()["token"]
    finally:
        client.close()
        server.stop()


def test_client_abort_mid_upload_leaves_no_temp_file(live_server) -> None:
    """A client that hangs up halfway through a body: the server drops the temp file at once."""
    import socket

    live = live_server
    token = live.register("quitter")
    url = httpx.URL(live.url)
    head = (
        f"POST /api/videos HTTP/1.1\r\nHost: {url.host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {10 * 1024 * 1024}\r\n\r\n"
    ).encode()
    tmp = live.data_dir / "tmp"
    with socket.create_connection((url.host, url.port), timeout=30) as sock:
        sock.sendall(head + _part("file", b"", "a.mp4")[:-2])
        for _ in range(16):
            sock.sendall(os.urandom(64 * 1024))
        deadline = time.monotonic() + 20
        while not any(tmp.iterdir()):
            assert time.monotonic() < deadline, "the upload never reached the temp dir"
            time.sleep(0.05)
    deadline = time.monotonic() + 20
    while list(tmp.iterdir()):
        assert time.monotonic() < deadline, f"temp files left: {list(tmp.iterdir())}"
        time.sleep(0.1)
    assert live.client.get("/healthz").status_code == 200
