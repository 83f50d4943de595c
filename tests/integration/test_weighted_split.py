"""Static weighted split between the blue and green pools (DESIGN section 4)."""

from collections import Counter


def _send(px, n):
    """n sequential keep-alive requests; Counter of the X-Backend that answered each."""
    seen = Counter()
    conn = px.connect()
    for i in range(n):
        resp = conn.get(f"/w{i}")
        assert resp.status == 200, resp
        seen[resp.header("X-Backend")] += 1
    conn.close()
    return seen


def test_weights_100_0_send_everything_to_blue(cutover):
    px = cutover(weights={"blue": 100, "green": 0})
    assert _send(px, 100) == Counter(blue=100)
    assert px.blue.request_count == 100
    assert px.green.connection_count == 0


def test_weights_0_100_send_everything_to_green(cutover):
    px = cutover(weights={"blue": 0, "green": 100})
    assert _send(px, 100) == Counter(green=100)
    assert px.green.request_count == 100
    assert px.blue.connection_count == 0


def test_weights_50_50_split_within_5_points(cutover):
    px = cutover(weights={"blue": 50, "green": 50})
    n = 2000
    seen = _send(px, n)
    assert set(seen) == {"blue", "green"}
    assert seen["blue"] + seen["green"] == n
    share = seen["blue"] / n
    assert 0.45 <= share <= 0.55, f"blue got {share:.1%} of {n}"
    # What the client saw matches what each backend received.
    assert px.blue.wait_for(lambda: px.blue.request_count == seen["blue"], 5)
    assert px.green.wait_for(lambda: px.green.request_count == seen["green"], 5)


def test_weights_90_10_split(cutover):
    px = cutover(weights={"blue": 90, "green": 10})
    n = 2000
    seen = _send(px, n)
    share = seen["green"] / n
    assert 0.07 <= share <= 0.13, f"green got {share:.1%} of {n}"


def test_split_applies_per_request_across_connections(cutover):
    """Without an affinity source every request is decided on its own."""
    px = cutover(weights={"blue": 50, "green": 50})
    seen = Counter()
    for i in range(40):
        conn = px.connect()
        for j in range(5):
            seen[conn.get(f"/c{i}/{j}").header("X-Backend")] += 1
        conn.close()
    assert seen["blue"] > 40 and seen["green"] > 40, seen
