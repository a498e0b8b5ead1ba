"""One account cannot keep the shared lab busy: one run per user queued or running (429),
others wait their turn in order, a full queue is 503 with the place, admins go first."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest
from serverkit import assert_problem, db_connect

# one world for all (the lab keeps it): the hog's first run also starts the lab's child and
# builds the world, seconds in which the others queue up; theirs then take a moment each
RUN = {"users": 20, "steps": 5, "seed": 1}


class _Lab:
    """Runs submitted from threads, and the order in which they finished."""

    def __init__(self, live, pool: ThreadPoolExecutor) -> None:
        self.live, self.pool, self.finished = live, pool, []

    def submit(self, name: str, token: str, settle_s: float = 0.5) -> Future:
        def run() -> httpx.Response:
            with httpx.Client(base_url=self.live.url, timeout=180) as c:
                r = c.post("/api/lab/simulate", json=RUN, headers=self.live.auth(token))
            self.finished.append(name)
            return r

        future = self.pool.submit(run)
        time.sleep(settle_s)  # its request is in
        return future

    def post(self, token: str) -> httpx.Response:
        return self.live.client.post("/api/lab/simulate", json=RUN, headers=self.live.auth(token))

    def hog_is_running(self, token: str) -> httpx.Response:
        """The hog asks again and again: refused (429) while its run is on."""
        deadline = time.monotonic() + 30
        while True:
            r = self.post(token)
            if assert_problem(r, 429)["position"] == 0:
                return r
            assert time.monotonic() < deadline
            time.sleep(0.1)


def _admin(live, handle: str) -> str:
    token = live.register(handle)
    conn = db_connect(live.db_path)
    conn.execute("UPDATE users SET is_admin = 1 WHERE handle = ?", (handle,))
    conn.close()
    return token


@pytest.mark.slow
def test_a_hog_cannot_starve_others_and_admins_go_first(live_server):
    live = live_server  # default limits
    hog, other, third = (live.register(h) for h in ("hog", "other", "third"))
    admin = _admin(live, "boss")
    with ThreadPoolExecutor(4) as pool:
        lab = _Lab(live, pool)
        runs = [lab.submit("hog", hog, settle_s=1.5)]
        r = lab.hog_is_running(hog)
        assert "Retry-After" in r.headers
        runs += [lab.submit("other", other), lab.submit("third", third)]
        again = lab.post(other)  # waiting counts too: one per user
        assert assert_problem(again, 429)["position"] == 1
        runs.append(lab.submit("boss", admin))
        statuses = [f.result().status_code for f in runs]
    assert statuses == [200] * 4, [f.result().text[:200] for f in runs]
    assert lab.finished == ["hog", "boss", "other", "third"]


@pytest.mark.slow
def test_a_full_queue_is_503_with_the_place_but_admins_still_get_in(make_server):
    live = make_server(limits={"lab_queue": 2, "lab_wait_s": 120})
    hog, other, third, fourth = (live.register(h) for h in ("hog", "other", "third", "fourth"))
    admin = _admin(live, "boss")
    with ThreadPoolExecutor(4) as pool:
        lab = _Lab(live, pool)
        runs = [lab.submit("hog", hog, settle_s=1.5)]
        lab.hog_is_running(hog)
        runs += [lab.submit("other", other), lab.submit("third", third)]
        full = lab.post(fourth)
        assert assert_problem(full, 503)["position"] == 3
        assert "Retry-After" in full.headers
        runs.append(lab.submit("boss", admin))
        statuses = [f.result().status_code for f in runs]
    assert statuses == [200] * 4, [f.result().text[:200] for f in runs]
    assert lab.finished == ["hog", "boss", "other", "third"]
