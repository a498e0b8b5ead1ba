"""The web in a real browser: headless Chromium (Debian's) driven by Playwright, against a real
server over real HTTP with real media. Without Chromium these skip with one line."""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from browserkit import CHROMIUM, ENABLE
from serverkit import query, seed_video

from shortstack.media.fixture_clips import write_test_video

if CHROMIUM is None:  # one line for the whole module, not one per test
    pytest.skip(ENABLE, allow_module_level=True)
pytestmark = pytest.mark.slow

PHONE = {"width": 412, "height": 915}
DESKTOP = {"width": 1440, "height": 900}
SHOTS = Path(os.environ.get("SHORTSTACK_SHOTS", "/tmp/web-shots"))
BUDGET = 100 * 1024  # the feed's first load, HTML + CSS + JS


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=PHONE)
    p = context.new_page()
    p.errors = []  # console errors and uncaught exceptions
    p.on("console", lambda m: p.errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    yield p
    context.close()


@contextmanager
def embedder(html: str):
    """Another web site: a plain HTTP server on its own loopback port answering one page."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def login(page, site, handle: str = "viewer") -> None:
    page.goto(site.url + "/login")
    page.fill("#login-handle", handle)
    page.fill("#login-password", "kettle-harbor-58")
    page.click("form[data-auth=login] button[type=submit]")
    page.wait_for_url(site.url + "/")


def playing(page, selector: str, timeout: float = 10_000) -> None:
    """Wait until the video under selector plays: not paused and its clock moved."""
    page.wait_for_function(
        """sel => { const v = document.querySelector(sel);
                    return v && !v.paused && v.readyState >= 2 && v.currentTime > 0.05; }""",
        arg=selector,
        timeout=timeout,
    )


def test_feed_plays_the_visible_video_and_scrolling_switches(site, page):
    sizes: dict[str, int] = {}

    def on_response(r):
        kind = r.request.resource_type
        if kind in ("document", "stylesheet", "script") and r.status == 200:
            sizes[r.url] = len(r.body())

    page.on("response", on_response)
    page.goto(site.url + "/", wait_until="load")
    cards = page.locator(".feed .card")
    assert cards.count() >= 3
    first = f"#{cards.nth(0).get_attribute('id')} video"
    second = f"#{cards.nth(1).get_attribute('id')} video"
    playing(page, first)
    source = page.eval_on_selector(first, "v => v.currentSrc")
    print(f"\nfirst video plays from {source.rsplit('/api/', 1)[-1]}")
    weight = sum(sizes.values())
    print(f"\nfeed first load (HTML+CSS+JS): {weight} bytes in {len(sizes)} files")
    assert weight < BUDGET, sizes
    # the next one is preloading (has its source) while the first plays
    assert page.eval_on_selector(second, "v => v.preload") == "auto"
    page.keyboard.press("j")
    playing(page, second)
    page.wait_for_function("sel => document.querySelector(sel).paused", arg=first)
    page.keyboard.press("k")
    playing(page, first)
    assert page.eval_on_selector(second, "v => v.paused")
    assert page.errors == []


def test_unmute_and_watch_time_counts_as_a_view(site, page):
    vid = site.videos[1]
    before = site.client.get(f"/api/videos/{vid}").json()["counts"]["views"]
    site.register("watcher")  # views count once per viewer: a fresh one
    login(page, site, "watcher")
    page.goto(f"{site.url}/v/{vid}")
    sel = f"#v-{vid} video"
    playing(page, sel)
    assert page.eval_on_selector(sel, "v => v.muted")  # muted autoplay
    page.click(f"#v-{vid} .unmute")
    page.wait_for_function("sel => !document.querySelector(sel).muted", arg=sel)
    playing(page, sel)
    assert page.get_attribute(f"#v-{vid} .unmute", "aria-pressed") == "true"
    # still playing: the watch time goes out once it makes a view (>= 50 % of the 1 s clip)
    deadline = time.monotonic() + 5
    while site.client.get(f"/api/videos/{vid}").json()["counts"]["views"] == before:
        assert time.monotonic() < deadline, "the web play did not count as a view"
        time.sleep(0.1)
    assert page.errors == []


def test_a_big_count_steps_from_its_exact_value_not_from_its_short_form(site, page):
    """The comment count shows 1.9K for 1,999; a new comment makes it 2K (it made it "2":
    the script added one to the number read back from the text "1.9K")."""
    vid = seed_video(site, "maker", "a talked-about clip", clip="portrait")
    query(site, "UPDATE videos SET comments = 1999 WHERE id = ?", (vid,))
    login(page, site)
    page.goto(f"{site.url}/v/{vid}")
    n = page.locator(f"#v-{vid} .comments .n")
    assert n.text_content() == "1.9K" and n.get_attribute("data-n") == "1999"
    page.locator(f"#v-{vid} .comments").click()
    page.fill("[data-sheet] input[name=body]", "one more")
    page.click("[data-sheet] form button")
    page.wait_for_selector("[data-sheet] .thread >> text=one more")
    page.wait_for_function(
        "sel => document.querySelector(sel).dataset.n === '2000'", arg=f"#v-{vid} .comments .n"
    )
    assert n.text_content() == "2K"
    assert page.errors == []


def test_a_signed_in_viewer_sees_their_own_state_on_pages_the_server_drew(site, page):
    """Server-drawn pages are the same for everyone: the script puts the viewer's like on a
    card, and hides the follow buttons on their own videos and profile (the buttons stayed:
    their display rule beat the hidden attribute, and following yourself is refused)."""
    vid = seed_video(site, "maker", "liked before the page opened", clip="portrait")
    auth = site.auth(site.viewer)
    site.client.put(f"/api/videos/{vid}/like", headers=auth).raise_for_status()
    try:
        login(page, site)
        page.goto(f"{site.url}/v/{vid}")
        page.wait_for_selector(f"#v-{vid} .like[aria-pressed=true]")
        assert page.locator(f"#v-{vid} .follow").is_visible()  # someone else's video
        login(page, site, "maker")
        page.goto(f"{site.url}/v/{vid}")
        page.wait_for_selector(f"#v-{vid} .like[aria-pressed=false]")
        assert not page.locator(f"#v-{vid} .follow").is_visible()
        page.goto(f"{site.url}/u/maker")
        page.wait_for_selector("[data-follow]", state="attached")
        page.wait_for_timeout(300)  # the script has run: the button stays hidden
        assert not page.locator("[data-follow]").is_visible()
    finally:
        site.client.delete(f"/api/videos/{vid}/like", headers=auth).raise_for_status()
    assert page.errors == []


def test_like_and_comment_persist_through_the_api(site, page):
    login(page, site)
    page.wait_for_selector(".feed[data-kind=for-you] .card")
    card = page.locator(".feed .card").first
    vid = card.get_attribute("data-id")
    card.locator(".like").click()
    page.wait_for_selector(f"#v-{vid} .like[aria-pressed=true]")
    auth = site.auth(site.viewer)
    assert site.client.get(f"/api/videos/{vid}", headers=auth).json()["liked_by_me"] is True
    card.locator(".comments").click()
    page.fill("[data-sheet] input[name=body]", "hello from the browser #web")
    page.click("[data-sheet] form button")
    page.wait_for_selector("[data-sheet] .thread >> text=hello from the browser")
    comments = site.client.get(f"/api/videos/{vid}/comments").json()["items"]
    assert any(c["body"] == "hello from the browser #web" for c in comments)
    page.click("[data-sheet] [data-close]")
    author = card.get_attribute("data-author")
    card.locator(".follow").click()
    page.wait_for_selector(f"#v-{vid} .follow[aria-pressed=true]")
    assert site.client.get(f"/api/users/{author}", headers=auth).json()["is_following"] is True
    assert page.errors == []


def test_share_page_meta_is_absolute_and_oembed_validates(site, page):
    vid = site.videos[0]
    page.goto(f"{site.url}/v/{vid}")
    meta = page.eval_on_selector_all(
        "meta[property^='og:'], meta[name^='twitter:'], link[rel=alternate], link[rel=canonical]",
        "els => els.map(e => [e.getAttribute('property') || e.getAttribute('name') || e.rel,"
        " e.getAttribute('content') || e.getAttribute('href')])",
    )
    urls = {k: v for k, v in meta if k.endswith(("url", "image", "video", "player", "stream"))}
    urls.update({k: v for k, v in meta if k in ("alternate", "canonical")})
    assert len(urls) >= 7 and all(v.startswith(site.url + "/") for v in urls.values()), urls
    oembed = page.request.get(urls["alternate"])
    data = oembed.json()
    assert data["type"] == "video" and data["version"] == "1.0"
    assert {"html", "width", "height", "provider_name", "title"} <= data.keys()
    # the iframe it hands out plays on another site's page (another origin on this machine)
    with embedder(f"<!doctype html><body>{data['html']}</body>") as url:
        page.goto(url)
        page.wait_for_selector("iframe")
        inner = None
        deadline = time.monotonic() + 10
        while inner is None:
            inner = next((f for f in page.frames if f.url.startswith(site.url + "/embed/")), None)
            assert inner or time.monotonic() < deadline, [f.url for f in page.frames]
            page.wait_for_timeout(100)
        playing(inner, "video")


def test_sensitive_video_needs_a_click_to_reveal(site, page):
    vid = site.videos[2]
    page.goto(f"{site.url}/v/{vid}")
    sel = f"#v-{vid} video"
    assert page.is_visible(f"#v-{vid} .cover")
    page.wait_for_timeout(300)
    assert page.eval_on_selector(sel, "v => v.paused && !v.getAttribute('src')")
    page.click(f"#v-{vid} .reveal")
    playing(page, sel)
    assert not page.is_visible(f"#v-{vid} .cover")


def test_a_viewer_who_opted_in_sees_sensitive_videos_without_the_notice(site, page):
    """The account's show_sensitive setting (PATCH /api/me) holds on the web pages too."""
    token = site.register("optin")
    r = site.client.patch("/api/me", json={"show_sensitive": True}, headers=site.auth(token))
    assert r.status_code == 200, r.text
    vid = site.videos[2]
    login(page, site, "optin")
    page.goto(f"{site.url}/v/{vid}")
    page.wait_for_function(
        "sel => !document.querySelector(sel)", arg=f"#v-{vid} .cover", timeout=10_000
    )
    assert "is-sensitive" not in page.get_attribute(f"#v-{vid}", "class")
    page.click(f"#v-{vid} video")  # the first visit plays on a tap, like any video
    playing(page, f"#v-{vid} video")


def test_upload_form_produces_a_ready_video(site, page, tmp_path):
    clip = write_test_video(tmp_path / "mine.mp4", width=96, height=160, duration_s=0.8)
    login(page, site, "maker")
    page.goto(site.url + "/upload")
    page.set_input_files("#up-file", str(clip))
    page.fill("#up-caption", "uploaded from a browser #web")
    page.click("form[data-upload] button[type=submit]")
    link = page.wait_for_selector("[data-ready-link]", timeout=60_000)
    assert page.eval_on_selector("[data-upload-progress]", "p => p.value") == 100
    vid = link.get_attribute("href").rsplit("/", 1)[1]
    video = httpx.get(f"{site.url}/api/videos/{vid}").json()
    assert video["status"] == "ready" and video["caption"] == "uploaded from a browser #web"
    link.click()
    playing(page, f"#v-{vid} video")
    assert page.errors == []


def _axe(page) -> list[dict]:
    import axe_playwright_python

    script = Path(axe_playwright_python.__file__).with_name("axe.min.js").read_text()
    page.evaluate(script)  # evaluate, not a <script> tag: the page's CSP allows none
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_accessibility_axe_and_keyboard(site, page):
    found = {}
    for path in ("/", f"/v/{site.videos[0]}", "/login", "/upload", "/u/maker", "/search?q=clip"):
        page.goto(site.url + path)
        page.wait_for_load_state("load")
        bad = _axe(page)
        found[path] = [(v["id"], v["impact"], len(v["nodes"])) for v in bad]
    print("\naxe serious/critical:", json.dumps(found))
    assert not any(found.values()), found
    # keyboard: skip link first, then the navigation; j moves the feed
    page.goto(site.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")


def unfurl_fields(tags: dict[str, str]) -> dict[str, str]:
    return {
        "site": tags["og:site_name"],
        "title": tags["og:title"],
        "desc": tags["og:description"],
        "image": tags["og:image"],
        "type": tags["og:type"],
        "url": tags["og:url"],
    }


def test_screenshots(site, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    vid = site.videos[0]
    for name, size in (("412x915", PHONE), ("1440x900", DESKTOP)):
        ctx = browser.new_context(viewport=size)
        p = ctx.new_page()
        p.goto(site.url + "/")
        # the top card may be a sensitive one (a notice, no picture): shoot the first that plays
        first = p.locator(".feed .card:not(.is-sensitive)").first
        first.scroll_into_view_if_needed()
        playing(p, f"#{first.get_attribute('id')} video")
        p.screenshot(path=str(SHOTS / f"feed-{name}.png"))
        p.goto(f"{site.url}/v/{vid}")
        playing(p, f"#v-{vid} video")
        p.screenshot(path=str(SHOTS / f"share-{name}.png"))
        p.goto(f"{site.url}/v/{site.videos[2]}")
        p.wait_for_selector(".cover")
        p.screenshot(path=str(SHOTS / f"sensitive-{name}.png"))
        p.goto(f"{site.url}/v/{vid}")
        # what a chat app unfurls, drawn from the page's tags
        tags = dict(
            p.eval_on_selector_all(
                "meta[property^='og:']",
                "els => els.map(e => [e.getAttribute('property'), e.getAttribute('content')])",
            )
        )
        card = (
            "<!doctype html><body style='font:15px system-ui;background:#f3f3f3;padding:20px'>"
            "<div style='max-width:420px;background:#fff;border-left:4px solid #ff4d6d;"
            "padding:10px;border-radius:6px'><div style='color:#666'>{site}</div>"
            "<div style='font-weight:700;color:#0366d6'>{title}</div><div>{desc}</div>"
            "<img src='{image}' alt='' style='width:240px;margin-top:8px'>"
            "<div style='color:#666;font-size:12px'>{type} · {url}</div></div></body>"
        ).format(**{k: escape(v) for k, v in unfurl_fields(tags).items()})
        with embedder(card) as url:  # a chat app's page: another origin
            p.goto(url)
            p.wait_for_function("() => document.querySelector('img').naturalWidth > 0")
            p.screenshot(path=str(SHOTS / f"unfurl-{name}.png"))
        ctx.close()
    assert len(list(SHOTS.glob("*.png"))) >= 8


def test_schema_page_works_offline_under_the_csp(site, page):
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(site.url) else None,
    )
    page.goto(site.url + "/schema")
    page.wait_for_function("() => document.querySelectorAll('#docs details').length > 20")
    assert page.locator("#docs code", has_text="/oembed").count() >= 1
    assert outside == [] and page.errors == []


def test_falls_back_to_mp4_when_hls_is_refused(make_server, page):
    live = make_server(limits={"hls_package_per_minute": 0})  # every on-demand HLS is a 429
    live.register("solo")
    vid = seed_video(live, "solo", "only mp4 today", clip="landscape")
    page.goto(f"{live.url}/v/{vid}")
    playing(page, f"#v-{vid} video")
    assert "/media/" in page.eval_on_selector(f"#v-{vid} video", "v => v.currentSrc")


def test_register_in_the_browser_then_log_out(site, page):
    page.goto(site.url + "/login")
    page.fill("#reg-handle", "newcomer")
    page.fill("#reg-name", "New Comer")
    page.fill("#reg-password", "kettle-harbor-58")
    page.click("form[data-auth=register] button[type=submit]")
    page.wait_for_url(site.url + "/")
    assert page.text_content("[data-account]") == "@newcomer"
    token = page.evaluate("localStorage.getItem('shortstack.token')")
    assert site.client.get("/api/me", headers=site.auth(token)).json()["handle"] == "newcomer"
    page.goto(site.url + "/login")
    page.click("text=Log out @newcomer")
    page.wait_for_url(site.url + "/")
    assert page.evaluate("localStorage.getItem('shortstack.token')") is None
    assert site.client.get("/api/me", headers=site.auth(token)).status_code == 401
    assert page.errors == []


def test_why_this_video_and_not_interested(site, page):
    site.register("picky")
    login(page, site, "picky")
    page.wait_for_selector(".feed[data-kind=for-you] .card")
    card = page.locator(".feed .card").first
    vid = card.get_attribute("data-id")
    card.locator(".more").click()
    page.click("[data-sheet] >> text=Why this video?")
    why = page.text_content("[data-sheet-body]")
    explanation = card.get_attribute("data-explanation")
    assert explanation and why.startswith(explanation)  # then its reasons with their weights
    page.click("[data-sheet] [data-close]")
    card.locator(".more").click()
    page.click("[data-sheet] >> text=Not interested")
    page.wait_for_selector(f"#v-{vid}", state="detached")
    rows = query(site, "SELECT COUNT(*) FROM not_interested WHERE video_id = ?", (vid,))
    assert rows[0][0] == 1
    assert page.errors == []


def test_owner_sees_the_processing_page_refresh(site, page):
    busy = seed_video(site, "maker", "cooking in the browser", status="processing")
    login(page, site, "maker")
    page.goto(f"{site.url}/v/{busy}")
    page.wait_for_selector("[data-gone] >> text=Still processing")
    query(site, "UPDATE videos SET status = 'failed', error = 'no picture' WHERE id = ?", (busy,))
    page.wait_for_selector("[data-gone] >> text=Video failed", timeout=10_000)
    assert "no picture" in page.text_content("[data-gone]")
