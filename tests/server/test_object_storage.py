"""Media in an S3 bucket (moto's real S3 server): uploads land there transcoded, API JSON gives
bucket (presigned) or CDN URLs that serve the right bytes with Range, the API's media routes
redirect after their visibility checks, HLS plays through absolute segment URIs, deletes and
the sweep leave no key behind, model artifacts live in the bucket."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
import zipfile
from urllib.parse import urljoin

import httpx
import pytest
import s3kit
from serverkit import assert_problem, wait_ready

from shortstack.server.config import Config, StorageConfig
from shortstack.server.object_storage import S3Storage

moto_endpoint, s3_server = s3kit.moto_endpoint, s3kit.s3_server  # the fixtures


def _files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _upload(live, token: str, clip) -> dict:
    with clip.open("rb") as fh:
        r = live.client.post(
            "/api/videos",
            files={"file": ("clip.mp4", fh, "video/mp4")},
            data={"caption": "to the bucket"},
            headers=live.auth(token),
        )
    assert r.status_code == 202, r.text
    video = wait_ready(live, token, r.json()["id"], timeout=120)
    assert video["status"] == "ready", video
    return video


def _object(s3, key: str) -> bytes:
    return s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()


def test_upload_is_transcoded_into_the_bucket_and_served_from_it(make_server, s3_server, clip):
    s3 = s3_server
    live = make_server(storage=s3.storage_config(prefix="site-a"))
    token = live.register("bucketeer")
    video = _upload(live, token, clip)
    vid = video["id"]
    base = f"site-a/media/{vid[:2]}/{vid}/"
    keys = s3.keys(base)
    names = [r["name"] for r in video["renditions"]]
    assert names
    for expected in ["source", "poster.jpg", "hls/master.m3u8"]:
        assert base + expected in keys, keys
    for name in names:
        assert base + f"{name}.mp4" in keys
        assert base + f"hls/{name}/index.m3u8" in keys
        assert base + f"hls/{name}/init.mp4" in keys
        assert any(k.startswith(base + f"hls/{name}/seg") for k in keys)
    assert not any("/." in k or k.endswith(".part") for k in keys), keys  # no partials
    # nothing of the media stays on the API machine
    assert _files(live.data_dir / "media") == []
    assert _files(live.data_dir / "tmp") == []

    # the JSON's URLs are presigned bucket URLs: the S3 server answers them directly
    rendition = video["renditions"][0]
    url = rendition["url"]
    assert url.startswith(s3.endpoint_url) and "X-Amz-Signature" in url, url
    body = _object(s3, base + f"{rendition['name']}.mp4")
    assert len(body) == rendition["bytes"]
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == body
    r = httpx.get(url, headers={"Range": "bytes=100-1099"})
    assert r.status_code == 206
    assert r.content == body[100:1100]
    assert r.headers["content-range"] == f"bytes 100-1099/{len(body)}"
    poster = httpx.get(video["poster_url"])
    assert poster.status_code == 200 and poster.content == _object(s3, base + "poster.jpg")
    assert poster.headers["content-type"] == "image/jpeg"
    # the same URL is reused (signing costs CPU on every feed page)
    again = live.client.get(f"/api/videos/{vid}").json()
    assert again["renditions"][0]["url"] == url

    # old clients: the API routes redirect there, after the visibility check
    r = live.client.get(f"/api/videos/{vid}/media/{rendition['name']}")
    assert r.status_code == 302
    followed = httpx.get(r.headers["location"], headers={"Range": "bytes=0-9"})
    assert followed.status_code == 206 and followed.content == body[:10]
    r = live.client.head(f"/api/videos/{vid}/poster")
    assert r.status_code == 302 and "poster.jpg" in r.headers["location"]
    r = live.client.get(f"/api/videos/{vid}/media/{rendition['name']}", follow_redirects=True)
    assert r.status_code == 200 and r.content == body  # httpx follows to the bucket

    # HLS: master and media playlists from the API, segments straight from the bucket
    master_url = live.url + video["hls_url"]
    master = httpx.get(master_url)
    assert master.status_code == 200, master.text
    variant = next(line for line in master.text.splitlines() if line and line[0] != "#")
    playlist = httpx.get(urljoin(master_url, variant))
    assert playlist.status_code == 200
    lines = playlist.text.splitlines()
    init = next(line for line in lines if line.startswith("#EXT-X-MAP:"))
    assert 'URI="' + s3.endpoint_url in init
    segments = [line for line in lines if line and line[0] != "#"]
    assert segments and all(s.startswith(s3.endpoint_url) for s in segments)
    first = httpx.get(segments[0])
    assert first.status_code == 200
    assert first.content == _object(s3, base + f"hls/{variant.split('/')[0]}/seg000.m4s")

    # a real HLS client plays it all through (ffmpeg, when installed)
    if shutil.which("ffmpeg"):
        played = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", master_url, "-map", "0:v:0", "-f", "framecrc", "-"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert played.returncode == 0 and not played.stderr.strip(), played.stderr[-2000:]
        frames = [line for line in played.stdout.splitlines() if line[:1].isdigit()]
        assert len(frames) >= 10, played.stdout  # a second of video, decoded

    # captions: the master in the bucket lists them; their playlist is the API's
    vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:00.900\nhello bucket\n"
    r = live.client.put(
        f"/api/videos/{vid}/captions/en",
        content=vtt.encode(),
        headers={**live.auth(token), "Content-Type": "text/vtt"},
    )
    assert r.status_code in (200, 201), r.text
    assert b"TYPE=SUBTITLES" in _object(s3, base + "hls/master.m3u8")
    master = httpx.get(master_url)
    media = next(line for line in master.text.splitlines() if "TYPE=SUBTITLES" in line)
    uri = media.split('URI="')[1].rstrip('"')
    subs = httpx.get(urljoin(master_url, uri))
    assert subs.status_code == 200 and subs.text.startswith("#EXTM3U"), subs.text

    # a data export reads the source from the bucket (the zip stays on the API machine)
    r = live.client.post("/api/me/export", headers=live.auth(token))
    assert r.status_code in (200, 202), r.text
    export_id = r.json()["id"]
    deadline = time.monotonic() + 60
    while (job := live.client.get(f"/api/me/export/{export_id}", headers=live.auth(token)).json())[
        "status"
    ] == "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job["status"] == "ready", job
    zipped = live.client.get(job["download_url"], headers=live.auth(token))
    zf = zipfile.ZipFile(io.BytesIO(zipped.content))
    assert zf.read(f"videos/{vid}-original") == _object(s3, base + "source") == clip.read_bytes()
    assert [p.name for p in (live.data_dir / "tmp").iterdir()] == []

    # a video someone may not see: no URL for them, the routes stay 404
    stranger = live.register("stranger")
    assert live.client.put("/api/users/stranger/block", headers=live.auth(token)).status_code in (
        200,
        204,
    )
    assert_problem(live.client.get(f"/api/videos/{vid}", headers=live.auth(stranger)), 404)
    for path in (f"media/{rendition['name']}", "poster", "hls/master.m3u8"):
        r = live.client.get(f"/api/videos/{vid}/{path}", headers=live.auth(stranger))
        assert_problem(r, 404)

    # delete: every key of the video goes
    assert live.client.delete(f"/api/videos/{vid}", headers=live.auth(token)).status_code == 204
    assert s3.keys(base) == []


def test_public_base_url_gives_cdn_urls_and_hls_plays_from_there(make_server, s3_server, clip):
    s3 = s3_server
    cdn = f"{s3.endpoint_url}/{s3.bucket}"  # a public bucket stands in for the CDN
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{s3.bucket}/*",
            }
        ],
    }
    s3.client.put_bucket_policy(Bucket=s3.bucket, Policy=json.dumps(policy))
    live = make_server(storage=s3.storage_config(public_base_url=cdn))
    token = live.register("cdnuser")
    video = _upload(live, token, clip)
    vid = video["id"]
    rendition = video["renditions"][0]
    key = f"media/{vid[:2]}/{vid}/{rendition['name']}.mp4"
    assert rendition["url"] == f"{cdn}/{key}"
    body = _object(s3, key)
    r = httpx.get(rendition["url"], headers={"Range": "bytes=50-149"})
    assert r.status_code == 206 and r.content == body[50:150]
    assert video["poster_url"] == f"{cdn}/media/{vid[:2]}/{vid}/poster.jpg"
    # the master names the CDN's media playlists; their relative segments resolve there
    master = live.client.get(video["hls_url"])
    assert master.status_code == 200
    variant = next(line for line in master.text.splitlines() if line and line[0] != "#")
    assert variant.startswith(cdn + "/"), variant
    playlist = httpx.get(variant)
    assert playlist.status_code == 200
    segment = next(line for line in playlist.text.splitlines() if line and line[0] != "#")
    assert not segment.startswith("http")
    assert httpx.get(urljoin(variant, segment)).status_code == 200
    # the web pages may load media from there (their CSP names the CDN's origin)
    page = live.client.get(f"/v/{vid}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert (
        f"media-src 'self' {s3.endpoint_url};" in csp
        and f"img-src 'self' {s3.endpoint_url};" in csp
    )
    # a segment through the API: a redirect to the CDN
    r = live.client.get(f"/api/videos/{vid}/hls/{rendition['name']}/init.mp4")
    assert r.status_code == 302 and r.headers["location"].startswith(cdn)


def _storage(s3, tmp_path, **extra) -> S3Storage:
    return S3Storage(StorageConfig(**s3.storage_config(**extra)), tmp_path / "data")


def test_sweep_removes_orphan_prefixes_and_unfinished_multipart_uploads(s3_server, tmp_path):
    s3 = s3_server
    storage = _storage(s3, tmp_path)
    kept, orphan = "keptvideo1", "orphanvid1"
    for vid in (kept, orphan):
        for name in ("source", "360p.mp4", "hls/master.m3u8"):
            s3.client.put_object(Bucket=s3.bucket, Key=storage.key(vid, name), Body=b"x" * 10)
    upload = s3.client.create_multipart_upload(Bucket=s3.bucket, Key=storage.key(kept, "360p.mp4"))
    s3.client.upload_part(
        Bucket=s3.bucket,
        Key=storage.key(kept, "360p.mp4"),
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=b"y" * 1024,
    )
    (storage.tmp / "upload-stale.upload").write_bytes(b"half")
    # a fresh orphan may be another machine's upload in flight: spared within the grace
    # period (moto dates every multipart upload 2010-11-10, so that one is stale already)
    spared = storage.sweep({kept})
    assert spared == {"orphans": 0, "temp_files": 1, "multipart_uploads": 1}
    assert storage.orphans({kept}, grace_s=0) == [orphan]
    s3.client.create_multipart_upload(Bucket=s3.bucket, Key=storage.key(orphan, "source"))
    removed = storage.sweep({kept}, grace_s=0)
    assert removed == {"orphans": 1, "temp_files": 0, "multipart_uploads": 1}
    assert s3.keys(storage.video_prefix(orphan)) == []
    assert len(s3.keys(storage.video_prefix(kept))) == 3
    assert s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_clear_partials_and_delete_abort_multipart_uploads(s3_server, tmp_path):
    s3 = s3_server
    storage = _storage(s3, tmp_path, prefix="p")
    key = storage.key("partialvid", "360p.mp4")
    s3.client.create_multipart_upload(Bucket=s3.bucket, Key=key)
    assert storage.clear_partials("partialvid") == 1
    s3.client.put_object(Bucket=s3.bucket, Key=key, Body=b"z")
    s3.client.create_multipart_upload(Bucket=s3.bucket, Key=storage.key("partialvid", "source"))
    storage.delete_video("partialvid")
    assert s3.keys("p/") == []
    assert s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_big_upload_is_multipart_and_streamed(s3_server, tmp_path):
    s3 = s3_server
    storage = _storage(s3, tmp_path)
    temp = storage.new_temp(".upload")
    with temp.open("wb") as fh:  # 3 parts of 8 MiB + a tail
        for i in range(25):
            fh.write(bytes([i]) * (1024 * 1024))
    storage.adopt_source(temp, "bigsource1")
    assert not temp.exists()
    head = s3.client.head_object(Bucket=s3.bucket, Key=storage.key("bigsource1", "source"))
    assert head["ContentLength"] == 25 * 1024 * 1024
    assert head["ETag"].strip('"').endswith("-4")  # a multipart upload of 4 parts
    with storage.transcode_files("bigsource1") as files:
        assert files.source.stat().st_size == 25 * 1024 * 1024
        (files.out_dir / "360p.mp4").write_bytes(b"rendition")
        (files.out_dir / ".360p.abc.part.mp4").write_bytes(b"half")
        files.hls_dir.mkdir()
        (files.hls_dir / "master.m3u8").write_text("#EXTM3U\n")
        files.commit()
        scratch = files.source.parent
    assert not scratch.exists()
    keys = s3.keys(storage.video_prefix("bigsource1"))
    assert [k.rsplit("/bigsource1/", 1)[1] for k in keys] == [
        "360p.mp4",
        "hls/master.m3u8",
        "source",
    ]
    with pytest.raises(FileNotFoundError):
        with storage.transcode_files("nosource01"):
            pass
    assert _files(storage.tmp) == []


def test_model_artifacts_live_in_the_bucket(s3_server, tmp_path):
    s3 = s3_server
    one = _storage(s3, tmp_path / "a")
    other = _storage(s3, tmp_path / "b")  # another machine
    assert other.current_model() is None
    for i in range(5):
        one.put_model(f"v{i}", f"model {i}".encode())
        time.sleep(0.01)
    assert other.current_model() == "v4"
    assert other.read_model("v4") == b"model 4"
    assert len([k for k in s3.keys("models/") if k.endswith(".model")]) == 3


def test_bad_storage_config_is_refused_clearly(tmp_path):
    import msgspec

    for bad, says in [
        ({"backend": "s3"}, "needs storage.bucket"),
        ({"backend": "s3", "bucket": "b", "endpoint_url": "ftp://x"}, "endpoint_url"),
        ({"backend": "s3", "bucket": "b", "public_base_url": "cdn"}, "public_base_url"),
    ]:
        with pytest.raises(msgspec.ValidationError, match=says):
            msgspec.convert({"storage": bad}, Config)


# uvicorn ends its thread with SystemExit when the app's start-up fails: that is the point here
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_missing_bucket_stops_the_start_with_a_clear_log_line(s3_server, tmp_path):
    from liveserver import test_config

    from shortstack.server.embedded import EmbeddedServer

    storage = s3_server.storage_config(bucket="no-such-bucket-here")
    server = EmbeddedServer(test_config(storage=storage), tmp_path / "data")
    with pytest.raises(RuntimeError):
        server.start(timeout=30)
    log = (tmp_path / "data" / "server.log").read_text()
    assert "cannot use the media storage: no such bucket: no-such-bucket-here" in log
    assert "Traceback" not in log


def test_presigned_urls_are_reused_for_a_quarter_of_their_life(s3_server, tmp_path, monkeypatch):
    import shortstack.server.object_storage as object_storage

    s3 = s3_server
    storage = _storage(s3, tmp_path, presign_s=600)
    key = storage.key("signedvid1", "poster.jpg")
    s3.client.put_object(Bucket=s3.bucket, Key=key, Body=b"jpeg bytes", ContentType="image/jpeg")
    signed = []
    sign = storage.client.generate_presigned_url
    storage.client.generate_presigned_url = lambda *a, **k: signed.append(1) or sign(*a, **k)
    first = storage.url("signedvid1", "poster.jpg")
    assert "X-Amz-Expires=600" in first
    assert storage.url("signedvid1", "poster.jpg") == first and len(signed) == 1  # cached
    clock = time.time()
    monkeypatch.setattr(object_storage.time, "time", lambda: clock + 151)  # a quarter later
    later = storage.url("signedvid1", "poster.jpg")
    assert len(signed) == 2  # signed again: handed out, it is valid for 3/4 of presign_s
    assert httpx.get(later).content == b"jpeg bytes"
