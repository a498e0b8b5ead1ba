"""`shortstack demo`: an embedded server seeded with generated clips, users and activity, then the client."""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path

import httpx
import msgspec
import platformdirs

from shortstack.demo_clips import ClipMaker
from shortstack.demo_topics import TOPICS
from shortstack.server.config import Config

DEMO_PASSWORD = "shortstack-demo"
DEMO_HANDLE = "you"
BOT_COUNT = 12
FIRST_READY = 1
DEMO_SEED = 7

COMMENTS = [
    "this is so good",
    "wow, again!",
    "how did you make this?",
    "love the colours",
    "saved 🔖",
    "more of this please",
    "the vibes 😍",
    "underrated",
    "watched it five times",
    "teach me",
]


def demo_config() -> Config:
    return msgspec.convert(
        {
            "server": {"workers": 2, "log_requests": False},
            # demo clips are drawn at 360p already: a faster x264 preset keeps 40 clips under a minute
            "media": {"preset": "superfast"},
            "limits": {"api_rate_per_minute": 100_000, "login_rate_per_minute": 1000},
        },
        Config,
    )


def needs_seeding(data_dir: Path) -> bool:
    """True when the demo data dir has no videos yet."""
    from shortstack.server.maintenance import has_videos

    return not has_videos(data_dir)


class DemoSeeder:
    """Creates demo accounts, uploads generated clips through the real pipeline, then adds activity."""

    def __init__(self, url: str, data_dir: Path, videos: int, *, seed: int = 7) -> None:
        self.http = httpx.Client(base_url=url, timeout=120)
        self.data_dir = data_dir
        self.videos = videos
        self.rng = random.Random(seed)
        self.seed = seed
        self.tokens: dict[str, str] = {}
        self.error: str | None = None
        self.done = threading.Event()
        self.clips: ClipMaker | None = None

    def _account(self, handle: str, display_name: str) -> str:
        body = {"handle": handle, "password": DEMO_PASSWORD, "display_name": display_name}
        r = self.http.post("/api/auth/register", json=body)
        if r.status_code == 409:
            r = self.http.post(
                "/api/auth/login", json={"handle": handle, "password": DEMO_PASSWORD}
            )
        r.raise_for_status()
        token = r.json()["token"]
        self.tokens[handle] = token
        return token

    def _auth(self, handle: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[handle]}"}

    def viewer_token(self) -> str:
        return self._account(DEMO_HANDLE, "You")

    @property
    def creators(self) -> dict[str, str]:
        return {f"{name}_club": name for name in TOPICS}

    def run(self) -> None:
        try:
            self._seed()
        except Exception as exc:  # shown to the user; the demo keeps serving what exists
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()

    def _seed(self) -> None:
        by_topic = {topic: handle for handle, topic in self.creators.items()}
        # accounts are made while the first clips are drawn (the first video is what a newcomer waits for)
        for handle, topic in self.creators.items():
            self._account(handle, f"{topic.title()} Club")
        assert self.clips is not None
        for spec, path in self.clips.done():
            caption = f"{spec.caption} " + " ".join(f"#{t}" for t in spec.hashtags)
            with path.open("rb") as fh:
                r = self.http.post(
                    "/api/videos",
                    files={"file": (path.name, fh, "video/mp4")},
                    data={"caption": caption},
                    headers=self._auth(by_topic[spec.topic]),
                )
            if r.status_code not in (202, 409):
                raise RuntimeError(f"upload failed: {r.status_code} {r.text[:200]}")
        self._wait_for_jobs(timeout=180)
        self._activity()

    def _wait_for_jobs(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.http.get("/healthz").json().get("jobs")  # null while the db is failing
            if jobs and jobs["queued"] == 0 and jobs["running"] == 0:
                return
            time.sleep(0.5)

    def _activity(self) -> None:
        """Bots with two favourite topics watch, like, comment and follow: the recommender's first data."""
        topics = list(TOPICS)
        videos: list[dict] = []
        for handle in self.creators:
            videos += self.http.get(f"/api/users/{handle}/videos", params={"limit": 50}).json()[
                "items"
            ]
        by_topic = {t: [v for v in videos if v["author"]["handle"] == f"{t}_club"] for t in topics}
        for i in range(BOT_COUNT):
            handle = f"viewer{i + 1:02d}"
            self._account(handle, f"Viewer {i + 1}")
            favourites = self.rng.sample(topics, 2)
            auth = self._auth(handle)
            for topic in favourites:
                self.http.put(f"/api/users/{topic}_club/follow", headers=auth)
                for v in by_topic[topic]:
                    if self.rng.random() < 0.8:
                        duration_ms = int((v["duration_s"] or 6) * 1000)
                        self.http.post(
                            f"/api/videos/{v['id']}/views",
                            json={"watch_ms": duration_ms},
                            headers=auth,
                        )
                        if self.rng.random() < 0.6:
                            self.http.put(f"/api/videos/{v['id']}/like", headers=auth)
                        if self.rng.random() < 0.15:
                            self.http.post(
                                f"/api/videos/{v['id']}/comments",
                                json={"body": self.rng.choice(COMMENTS)},
                                headers=auth,
                            )
            for v in self.rng.sample(videos, min(6, len(videos))):  # quick skips elsewhere
                if v["author"]["handle"][:-5] not in favourites:
                    self.http.post(
                        f"/api/videos/{v['id']}/views", json={"watch_ms": 900}, headers=auth
                    )


def run_demo(
    *,
    videos: int = 40,
    data_dir: Path | None = None,
    no_tui: bool = False,
    port: int = 0,
    sound: bool = True,
) -> int:
    from shortstack.server.embedded import EmbeddedServer

    data_dir = data_dir or Path(platformdirs.user_data_dir("shortstack")) / "demo"
    data_dir.mkdir(parents=True, exist_ok=True)
    clips = ClipMaker(data_dir, videos, DEMO_SEED) if needs_seeding(data_dir) else None
    print(f"Starting the demo server (data in {data_dir}) ...", file=sys.stderr)
    server = EmbeddedServer(demo_config(), data_dir, port=port).start()
    try:
        seeder = DemoSeeder(server.url, data_dir, videos, seed=DEMO_SEED)
        seeder.clips = clips
        token = seeder.viewer_token()
        if clips is not None:
            print(
                f"Generating {videos} demo clips; the client opens when the first are ready ...",
                file=sys.stderr,
            )
            threading.Thread(target=seeder.run, name="demo-seeder", daemon=True).start()
            _wait_first_ready(seeder, min(FIRST_READY, videos))
        else:
            seeder.done.set()
        if seeder.error:
            print(f"demo: seeding stopped: {seeder.error}", file=sys.stderr)
        if no_tui:
            print(
                f"server: {server.url}\nlogin:  @{DEMO_HANDLE} / {DEMO_PASSWORD}\ntoken:  {token}",
                flush=True,
            )
            seeder.done.wait()
            if seeder.error:
                print(f"demo: seeding stopped: {seeder.error}", file=sys.stderr)
            print("demo: seeded; serving until Ctrl-C", file=sys.stderr, flush=True)
            while True:
                time.sleep(3600)
        from shortstack.tui.app import run

        run(server.url, token=token, sound=sound)
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        if clips is not None:
            clips.shutdown()
        server.stop()


def _wait_first_ready(seeder: DemoSeeder, want: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not seeder.done.is_set():
        r = seeder.http.get("/api/feed/trending", params={"limit": want})
        if r.status_code == 200 and len(r.json()["items"]) >= want:
            return
        time.sleep(0.3)
