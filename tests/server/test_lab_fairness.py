"""One account cannot keep the shared lab busy: one run per user queued or running (429),
others wait their turn in order, a full queue is 503 with the place, admins go first."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from serverkit import assert_problem, db_connect

# one world for all (the lab keeps it): the hog's first run also starts the lab's child and
# builds the world, seconds in which the others queue up; theirs then take a moment each
BIG = SMALL = {"users": 20, "steps": 5, "seed": 1}


def test_a_hog_cannot_starve_others_and_admins_go_first(make_server):
    live = make_server(limits={"lab_queue": 2, "lab_wait_s": 120})
    hog, other, third, fourth = (live.register(h) for h in ("hog", "other", "third", "fourth"))
    admin = live.register("boss")
    conn = db_connect(live.db_path)
    conn.execute("UPDATE users SET is_admin = 1 WHERE handle = 'boss'")
    conn.close()
    finished: list[str] = []

    def simulate(name: str, token: str, body: dict) -> httpx.Response:
        with httpx.Client(base_url=live.url, timeout=180) as c:
            r = c.post("/api/lab/simulate", json=body, headers=live.auth(token))
        finished.append(name)
        return r

    with ThreadPoolExecutor(4) as pool:
        hog_run = pool.submit(simulate, "hog", hog, BIG)
        time.sleep(0.5)  # its request is in
        deadline = time.monotonic() + 30
        while True:  # the hog asks again and again: refused while its run is on
            r = live.client.post("/api/lab/simulate", json=SMALL, headers=live.auth(hog))
            if assert_problem(r, 429)["position"] == 0:
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert "Retry-After" in r.headers
        other_run = pool.submit(simulate, "other", other, SMALL)
        time.sleep(0.3)
        third_run = pool.submit(simulate, "third", third, SMALL)
        time.sleep(0.3)
        full = live.client.post("/api/lab/simulate", json=SMALL, headers=live.auth(fourth))
        assert assert_problem(full, 503)["position"] == 3
        assert "Retry-After" in full.headers
        admin_run = pool.submit(simulate, "boss", admin, SMALL)  # the queue is full: not for admins
        runs = [hog_run, other_run, third_run, admin_run]
        assert [f.result().status_code for f in runs] == [200] * 4, [
            f.result().text[:200] for f in runs
        ]
    assert finished == ["hog", "boss", "other", "third"], finished
