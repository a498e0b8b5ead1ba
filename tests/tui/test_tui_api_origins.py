"""The client's token goes to its own server only: a media URL on another origin (a bucket's
presigned URL, a CDN) is fetched without it. Replayed with two real servers: a token of A sent
to B is refused there (401), so B answering 200 proves the token was not sent."""

from __future__ import annotations

from shortstack.tui.api import ApiClient

PASSWORD = "kettle-harbor-58"


async def test_media_on_another_origin_is_fetched_without_the_token(make_server, tmp_path) -> None:
    a = make_server(tmp_path / "a")
    b = make_server(tmp_path / "b")
    api = ApiClient(a.url)
    try:
        await api.register("origin", PASSWORD)
        assert api.token
        # B refuses A's token on any path: had the client sent it, this would be a 401
        assert b'"items"' in await api.fetch_bytes(f"{b.url}/api/feed/trending?limit=1")
        # its own server still gets the token (a private video's media needs it)
        me = await api.fetch_bytes("/api/me")
        assert b'"origin"' in me
    finally:
        await api.aclose()
