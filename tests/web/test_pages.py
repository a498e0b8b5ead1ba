"""The web over real HTTP (no browser): share page tags, oEmbed, embed, errors by Accept, HEAD,
headers, the feed page, profiles, hashtags, search and the shipped assets."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from serverkit import assert_problem, db_connect, seed_video

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class Tags(HTMLParser):
    """Meta and link tags, script and style sources of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.scripts: list[dict[str, str]] = []
        self.inline_scripts = 0
        self.styles = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in a or "name" in a):
            self.meta[a.get("property") or a["name"]] = a.get("content", "")
        elif tag == "link":
            self.links.append(a)
        elif tag == "script":
            self.scripts.append(a)
            self._in_script = "src" not in a
        elif tag == "style":
            self.styles += 1
        if "style" in a:
            self.styles += 1

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def tags(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    return p


def test_share_page_unfurls_with_absolute_open_graph_twitter_and_oembed(site):
    vid = site.videos[0]
    r = site.client.get(f"/v/{vid}", headers=BROWSER)
    # one charset parameter: the framework adds it to text/* types (it was given twice)
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    head = site.client.head(f"/v/{vid}", headers=BROWSER)
    assert head.headers["content-type"] == "text/html; charset=utf-8"
    t = tags(r.text)
    m = t.meta
    assert m["og:type"] == "video.other"
    assert m["og:url"] == f"{site.url}/v/{vid}"
    assert m["og:image"] == f"{site.url}/api/videos/{vid}/poster"
    assert int(m["og:image:width"]) > 0 and int(m["og:image:height"]) > 0
    assert m["og:video"].startswith(f"{site.url}/api/videos/{vid}/media/")
    assert m["og:video:type"] == "video/mp4"
    assert int(m["og:video:width"]) > 0 and int(m["og:video:height"]) > 0
    assert m["twitter:card"] == "player"
    assert m["twitter:player"] == f"{site.url}/embed/{vid}"
    assert m["og:title"].startswith("first clip with #cats")
    for url in (m["og:image"], m["og:video"], m["twitter:player"]):
        got = site.client.get(url)
        assert got.status_code == 200, url
    oembed_link = next(x for x in t.links if x.get("type") == "application/json+oembed")
    assert oembed_link["href"].startswith(f"{site.url}/oembed?")
    o = site.client.get(oembed_link["href"])
    assert o.status_code == 200 and o.headers["content-type"].startswith("application/json")
    data = o.json()
    assert data["version"] == "1.0" and data["type"] == "video"
    for key in ("html", "width", "height", "title", "author_name", "provider_name"):
        assert data[key], key
    assert isinstance(data["width"], int) and isinstance(data["height"], int)
    assert f'src="{site.url}/embed/{vid}"' in data["html"]
    assert data["thumbnail_url"] == m["og:image"]
    # maxwidth / maxheight are honoured, keeping the aspect ratio
    small = site.client.get(
        "/oembed", params={"url": f"{site.url}/v/{vid}", "maxwidth": 100, "maxheight": 100}
    ).json()
    assert small["width"] <= 100 and small["height"] <= 100
    assert "thumbnail_url" not in small or small["thumbnail_width"] <= 100


def test_share_page_shows_names_counts_and_escaped_linked_caption(site):
    html = site.client.get(f"/v/{site.videos[0]}", headers=BROWSER).text
    assert "Mia Maker" in html and "@maker" in html
    assert '<a href="/tag/cats">#cats</a>' in html and '<a href="/u/viewer">@viewer</a>' in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    assert re.search(r"\d+ views", html) and "muted" in html and "playsinline" in html
    assert "Tap to unmute" in html


def test_share_link_from_the_api_names_the_served_address(site):
    r = site.client.post(f"/api/videos/{site.videos[1]}/share", headers=site.auth(site.viewer))
    assert r.json()["url"] == f"{site.url}/v/{site.videos[1]}"


def test_html_pages_have_strict_csp_and_no_inline_script_or_style(site):
    for path in ("/", f"/v/{site.videos[0]}", "/login", "/upload", "/search?q=clip", "/u/maker"):
        r = site.client.get(path, headers=BROWSER)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, path
        assert r.headers["x-frame-options"] == "DENY"
        t = tags(r.text)
        assert t.inline_scripts == 0 and t.styles == 0, path
        assert t.scripts and all(s["src"].startswith("/static/") for s in t.scripts)
    embed = site.client.get(f"/embed/{site.videos[0]}", headers=BROWSER)
    assert embed.status_code == 200
    assert "frame-ancestors *" in embed.headers["content-security-policy"]
    assert "x-frame-options" not in embed.headers


def test_unknown_video_is_html_404_for_browsers_and_problem_for_api_clients(site):
    page = site.client.get("/v/nosuchvideo", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Video not found" in page.text
    assert_problem(site.client.get("/v/nosuchvideo"), 404)
    assert_problem(site.client.get("/v/nosuchvideo", headers={"Accept": "application/json"}), 404)
    assert site.client.head("/v/nosuchvideo", headers=BROWSER).status_code == 404
    assert site.client.get("/embed/nosuchvideo", headers=BROWSER).status_code == 404
    assert_problem(site.client.get("/v/" + "x" * 40), 400)


def test_processing_refreshes_itself_and_failed_is_410_for_its_owner(site):
    busy = seed_video(site, "maker", "still cooking", status="processing")
    broken = seed_video(site, "maker", "broken upload", status="failed")
    owner = {**BROWSER, **site.auth(site.maker)}
    r = site.client.get(f"/v/{busy}", headers=owner)
    assert r.status_code == 202 and "Still processing" in r.text
    assert r.headers["refresh"] == "3" and 'http-equiv="refresh"' in r.text
    r = site.client.get(f"/v/{broken}", headers=owner)
    assert r.status_code == 410 and "could not be processed" in r.text
    assert_problem(site.client.get(f"/v/{broken}", headers=site.auth(site.maker)), 410)
    # to anyone else both are unknown (server/visibility.py)
    for vid in (busy, broken):
        r = site.client.get(f"/v/{vid}", headers=BROWSER)
        assert r.status_code == 404 and "cooking" not in r.text and "broken" not in r.text


def test_head_is_answered_like_get_on_pages(site):
    for path in ("/", f"/v/{site.videos[0]}", f"/embed/{site.videos[0]}", "/u/maker", "/login"):
        got = site.client.get(path, headers=BROWSER)
        head = site.client.head(path, headers=BROWSER)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and int(head.headers["content-length"]) == len(got.content)


def test_sensitive_video_shows_a_notice_first_and_no_preview_in_unfurls(site):
    vid = site.videos[2]
    r = site.client.get(f"/v/{vid}", headers=BROWSER)
    assert r.status_code == 200 and "Sensitive content" in r.text
    assert "is-sensitive" in r.text and f'src="/api/videos/{vid}/media' not in r.text
    m = tags(r.text).meta
    assert "og:video" not in m and "og:image" not in m and m["twitter:card"] == "summary"
    revealed = site.client.get(f"/v/{vid}?reveal=1", headers=BROWSER).text
    assert f'src="/api/videos/{vid}/media' in revealed
    embed = site.client.get(f"/embed/{vid}", headers=BROWSER).text
    assert "Sensitive content" in embed
    o = site.client.get("/oembed", params={"url": f"{site.url}/v/{vid}"}).json()
    assert o["type"] == "video" and "thumbnail_url" not in o


def test_root_favicon_schema_and_hashed_assets(site):
    r = site.client.get("/", headers=BROWSER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.count('class="card') >= 2 and 'data-kind="trending"' in r.text
    fav = site.client.get("/favicon.ico")
    assert fav.status_code == 200 and fav.headers["content-type"] == "image/vnd.microsoft.icon"
    schema = site.client.get("/schema", headers=BROWSER)
    assert schema.status_code == 200
    srcs = re.findall(r'(?:src|href)="([^"]+)"', schema.text)
    assert srcs and all(s.startswith("/") for s in srcs), srcs  # nothing from a CDN
    for path in re.findall(r'"(/static/[^"]+)"', r.text + schema.text):
        a = site.client.get(path)
        assert a.status_code == 200 and "immutable" in a.headers["cache-control"], path
        assert re.search(r"\.[0-9a-f]{12}\.", path)
    assert site.client.get("/static/app.js").status_code == 404  # only hashed names


def test_profile_hashtag_and_search_pages(site):
    p = site.client.get("/u/maker", headers=BROWSER)
    assert p.status_code == 200 and "Mia Maker" in p.text and site.videos[0] in p.text
    assert site.client.get("/u/nobody_here", headers=BROWSER).status_code == 404
    t = site.client.get("/tag/cats", headers=BROWSER)
    assert t.status_code == 200 and site.videos[0] in t.text and site.videos[1] not in t.text
    assert "<p>1 video</p>" in t.text  # one of a thing is singular (it said "1 videos")
    s = site.client.get("/search", params={"q": "second"}, headers=BROWSER)
    assert s.status_code == 200 and site.videos[1] in s.text
    assert site.client.get("/search", params={"q": "x" * 300}, headers=BROWSER).status_code == 400
    # a search that finds nothing says so (it said "No videos yet."), the words escaped
    none = site.client.get("/search", params={"q": "zq <b>nothing</b>"}, headers=BROWSER)
    assert "No videos found for “zq &lt;b&gt;nothing&lt;/b&gt;”." in none.text
    assert "No videos yet" not in none.text and "<b>nothing" not in none.text


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"url": "https://elsewhere.example/watch?v=1"}, 404),
        ({"url": "/v/nosuchvideo"}, 404),
        ({"url": "http://x/v/nosuchvideo"}, 404),
        ({"url": "http://x/v/{vid}", "format": "xml"}, 400),
        ({"url": "http://x/v/{vid}", "maxwidth": "wide"}, 400),
        ({"url": "http://x/v/{vid}", "maxwidth": "0"}, 400),
        ({}, 400),
    ],
)
def test_oembed_bad_input_is_a_clear_problem(site, params, status):
    params = {k: v.format(vid=site.videos[0]) for k, v in params.items()}
    assert_problem(site.client.get("/oembed", params=params), status)


def test_removed_video_is_404_html(site):
    vid = seed_video(site, "maker", "to be removed", clip="portrait")
    conn = db_connect(site.db_path)
    try:
        conn.execute("UPDATE videos SET removed_at = 1 WHERE id = ?", (vid,))
    finally:
        conn.close()
    r = site.client.get(f"/v/{vid}", headers=BROWSER)
    assert r.status_code == 404 and "removed" in r.text and "to be removed" not in r.text
    q = parse_qs(urlsplit(f"/oembed?url=http://x/v/{vid}").query)
    assert_problem(site.client.get("/oembed", params=q), 404)


def test_public_url_names_every_absolute_link(make_server):
    live = make_server(server={"public_url": "https://clips.example.org/"})
    live.register("far")
    vid = seed_video(live, "far", "seen from afar")
    m = tags(live.client.get(f"/v/{vid}", headers=BROWSER).text).meta
    for key in ("og:url", "og:image", "og:video", "og:video:secure_url", "twitter:player"):
        assert m[key].startswith("https://clips.example.org/"), (key, m[key])
    o = live.client.get("/oembed", params={"url": f"https://clips.example.org/v/{vid}"}).json()
    assert 'src="https://clips.example.org/embed/' in o["html"]


def test_share_page_lists_the_captions_as_tracks(make_server):
    """Captions the owner uploaded appear as <track>s of the share page's video, the
    first language by default; the track URL serves the WebVTT."""
    live = make_server()
    token = live.register("captioner")
    vid = seed_video(live, "captioner", "with captions", clip="landscape", duration_s=1.0)
    vtt = "WEBVTT\n\n00:00.000 --> 00:00.900\nhello <there>\n"
    for lang in ("fr", "en"):
        r = live.client.put(
            f"/api/videos/{vid}/captions/{lang}",
            content=vtt.encode(),
            headers={**live.auth(token), "Content-Type": "text/vtt"},
        )
        assert r.status_code in (200, 201), r.text
    html = live.client.get(f"/v/{vid}", headers=BROWSER).text
    tracks = re.findall(r"<track [^>]*>", html)
    assert len(tracks) == 2, tracks
    assert f'src="/api/videos/{vid}/captions/en.vtt"' in tracks[0] and "default" in tracks[0]
    assert 'srclang="fr"' in tracks[1] and "default" not in tracks[1]
    served = live.client.get(f"/api/videos/{vid}/captions/en.vtt")
    assert served.status_code == 200 and served.text == vtt
