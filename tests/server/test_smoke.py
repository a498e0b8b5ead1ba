def test_health(live_server):
    r = live_server.client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["db"] == "ok"
