"""Several workers (SO_REUSEPORT listeners): many concurrent connections all succeed."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

CONNECTIONS = 100
REQUESTS_PER_CONNECTION = 5


@pytest.mark.multiworker
def test_two_workers_serve_many_concurrent_connections(cutover):
    px = cutover(workers=2, weights={"blue": 50, "green": 50})
    conns = [px.connect() for _ in range(CONNECTIONS)]  # all open at the same time
    start = threading.Barrier(CONNECTIONS, timeout=30)

    def run(i):
        conn = conns[i]
        start.wait()
        bodies = []
        for j in range(REQUESTS_PER_CONNECTION):
            resp = conn.get(f"/w/{i}/{j}", timeout=20)
            assert resp.status == 200, resp
            bodies.append((resp.header("X-Backend"), resp.body))
        return bodies

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        results = list(pool.map(run, range(CONNECTIONS), timeout=60))

    for i, bodies in enumerate(results):
        for j, (backend, body) in enumerate(bodies):
            assert body == f"{backend} GET /w/{i}/{j}\n".encode()
    total = CONNECTIONS * REQUESTS_PER_CONNECTION
    assert px.blue.wait_for(
        lambda: px.blue.request_count + px.green.request_count == total, 10)
    targets = sorted(r.target for r in px.blue.requests + px.green.requests)
    assert targets == sorted(f"/w/{i}/{j}" for i in range(CONNECTIONS)
                             for j in range(REQUESTS_PER_CONNECTION))


@pytest.mark.multiworker
def test_two_workers_each_run_a_listener(cutover):
    """Both workers accept: with SO_REUSEPORT the kernel hashes connections over the two
    listening sockets, so 200 fresh connections from different source ports reach both.
    Seen from outside, each worker's upstream pool opens its own backend connection."""
    px = cutover(workers=2)
    for i in range(200):
        conn = px.connect()
        assert conn.get(f"/n{i}").status == 200
        conn.close()
    px.blue.wait_requests(200)
    # One pooled upstream connection per worker (sequential traffic needs no more).
    assert px.blue.connection_count == 2, px.blue.connection_count
