"""Media bytes: exact spans on every read path, and the X-Accel-Redirect mode behind nginx."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from serverkit import assert_problem, seed_video

from shortstack.server.ranges import CHUNK


def _big_rendition(live, handle: str, size: int = 3 * CHUNK + 12345) -> tuple[str, bytes]:
    """A ready video whose first rendition's file is ``size`` random bytes (ranges care about
    bytes only); (its media URL, the bytes)."""
    vid = seed_video(live, handle, "big file")
    rendition = live.client.get(f"/api/videos/{vid}").json()["renditions"][0]
    path = live.data_dir / "media" / vid[:2] / vid / f"{rendition['name']}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = random.Random(5).randbytes(size)
    path.write_bytes(data)
    return rendition["url"], data


def _evict(path: Path) -> None:
    """Ask the kernel to drop the file from the page cache (where the filesystem allows)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def test_spans_are_exact_on_every_read_path(live_server):
    live, c = live_server, live_server.client
    live.register("maker")
    url, data = _big_rendition(live, "maker")
    size = len(data)
    vid, name = url.split("/")[3], url.rsplit("/", 1)[1]
    path = live.data_dir / "media" / vid[:2] / vid / f"{name}.mp4"

    full = c.get(url)  # longer than a chunk: streamed
    assert full.status_code == 200 and full.content == data
    assert int(full.headers["content-length"]) == size
    spans = [
        (0, 65535),
        (CHUNK - 10, CHUNK + 10),
        (size - CHUNK, size - 1),
        (1000, 1000 + 2 * CHUNK),
    ]
    for evicted in (False, True):  # from the page cache on the loop / from disk in a thread
        for start, end in spans:
            if evicted:
                _evict(path)
            r = c.get(url, headers={"Range": f"bytes={start}-{end}"})
            assert r.status_code == 206
            assert r.headers["content-range"] == f"bytes {start}-{end}/{size}"
            assert int(r.headers["content-length"]) == end - start + 1
            assert r.content == data[start : end + 1]


NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp; uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    types {{ video/mp4 mp4; image/jpeg jpg; }}
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        location /_media/ {{ internal; alias {media}/; }}
        location / {{ proxy_pass {upstream}; proxy_set_header Host $host; }}
    }}
}}
"""


def _nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )


@pytest.fixture
def behind_nginx(make_server, tmp_path):
    """A server in X-Accel-Redirect mode with Debian's nginx in front of it."""
    binary = _nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    live = make_server(server={"media_accel_redirect": "/_media"})
    root = tmp_path / "nginx"
    (root / "tmp").mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (root / "nginx.conf").write_text(
        NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "",
            root=root,
            port=port,
            media=live.data_dir / "media",
            upstream=live.url,
        )
    )
    proc = subprocess.Popen(
        [binary, "-c", str(root / "nginx.conf"), "-p", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (root / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not answer"
            time.sleep(0.05)
        yield live, client
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


def test_accel_redirect_through_nginx(behind_nginx):
    live, proxy = behind_nginx
    owner = live.auth(live.register("maker"))
    url, data = _big_rendition(live, "maker")
    size = len(data)
    vid, name = url.split("/")[3], url.rsplit("/", 1)[1]

    # the server alone answers with the redirect and no bytes
    direct = live.client.get(url)
    assert direct.status_code == 200 and direct.content == b""
    assert direct.headers["x-accel-redirect"] == f"/_media/{vid[:2]}/{vid}/{name}.mp4"

    # through nginx: the bytes, Range, HEAD, conditional requests
    full = proxy.get(url)
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "video/mp4"
    assert "x-accel-redirect" not in full.headers
    r = proxy.get(url, headers={"Range": "bytes=1000-70999"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 1000-70999/{size}"
    assert r.content == data[1000:71000]
    r = proxy.get(url, headers={"Range": f"bytes=-{100}"})
    assert r.status_code == 206 and r.content == data[-100:]
    assert proxy.get(url, headers={"Range": f"bytes={size}-"}).status_code == 416
    h = proxy.head(url)
    assert h.status_code == 200 and int(h.headers["content-length"]) == size
    etag = full.headers.get("etag")
    if etag:
        assert proxy.get(url, headers={"If-None-Match": etag}).status_code == 304

    # the server's checks still decide: an unknown rendition, an unpublished video, and
    # the internal location itself are 404s through nginx
    assert_problem(proxy.get(f"/api/videos/{vid}/media/999p"), 404)
    assert proxy.get(f"/_media/{vid[:2]}/{vid}/{name}.mp4").status_code == 404
    draft = seed_video(live, "maker", "draft", status="processing")
    path = live.data_dir / "media" / draft[:2] / draft / "240p.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"secret draft bytes")
    r = proxy.get(f"/api/videos/{draft}/media/240p")
    assert r.status_code == 404 and b"secret" not in r.content
    # its owner sees the draft's metadata, but a draft has no playable rendition yet
    assert proxy.get(f"/api/videos/{draft}", headers=owner).status_code == 200
