"""Affinity mode `pin` through the real binary (DESIGN section 4, issue 3): the first
decision is written into a signed cookie and followed whatever the weights do afterwards,
new sessions follow the split, forged pins are ignored and re-pinned, and a rollback
overrides pins to the candidate."""

from collections import Counter

from http_client import parse_set_cookie

PIN_KEY = "0123456789abcdef0123456789abcdef"
PIN = "cutover_pin"


def _pin_affinity(key=PIN_KEY):
    return {"mode": "pin", "salt": "p", "pin_key": key, "pin_cookie": PIN}


class Session:
    """A browser-like client: one keep-alive connection and a cookie jar."""

    def __init__(self, px, cookies=None):
        self.px = px
        self.conn = px.connect()
        self.jar = dict(cookies or {})
        self.last_set = {}  # name -> value set by the last response

    def get(self, target="/"):
        headers = [("Cookie", "; ".join(f"{k}={v}" for k, v in self.jar.items()))] \
            if self.jar else []
        resp = self.conn.get(target, headers)
        assert resp.status == 200, resp
        self.last_set = {}
        for line in resp.header_all("Set-Cookie"):
            name, value, attrs = parse_set_cookie(line)
            self.last_set[name] = value
            if attrs.get("max-age") == "0":
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return resp.header("X-Backend")

    def pools(self, n, tag="r"):
        return Counter(self.get(f"/{tag}{i}") for i in range(n))


def test_pinned_sessions_stay_on_blue_while_new_sessions_follow_green_100(cutover):
    px = cutover(weights={"blue": 100, "green": 0}, affinity=_pin_affinity())
    old = [Session(px) for _ in range(20)]
    for s in old:
        assert s.get("/first") == "blue"
        assert PIN in s.last_set, f"no {PIN} cookie set on the first response"
        assert s.pools(3, "warm") == Counter(blue=3)

    px.reload(weights={"blue": 0, "green": 100})
    for i, s in enumerate(old):
        n = 200 if i == 0 else 10
        assert s.pools(n, "after") == Counter(blue=n), \
            f"pinned session {i} left blue after the weights moved to green"
    new = [Session(px) for _ in range(50)]
    for s in new:
        assert s.get("/new") == "green"
        assert PIN in s.last_set, "a new session was not pinned"
    for s in new[:10]:
        assert s.pools(5, "again") == Counter(green=5)
    # The old sessions are still on blue after the new ones arrived.
    assert old[1].pools(5, "late") == Counter(blue=5)


def _flip_hex(text, index):
    c = text[index]
    return text[:index] + ("1" if c == "0" else "0") + text[index + 1:]


def test_forged_or_foreign_pins_are_ignored_and_re_pinned(cutover, backends):
    blue, green = backends("blue"), backends("green")
    pools = {"blue": [blue.address], "green": [green.address]}
    px = cutover(pools=pools, weights={"blue": 100, "green": 0}, affinity=_pin_affinity())
    s = Session(px)
    assert s.get("/pin") == "blue"
    genuine = s.jar[PIN]
    # A pin signed with another proxy's key.
    other = cutover(pools=pools, weights={"blue": 100, "green": 0},
                    affinity=_pin_affinity("fedcba9876543210fedcba9876543210"))
    o = Session(other)
    assert o.get("/other") == "blue"
    foreign = o.jar[PIN]
    assert foreign != genuine

    # Under blue = 100 a forged pin to green is not followed, and gets replaced.
    if "blue" in genuine:
        forged_green = genuine.replace("blue", "green", 1)
        f = Session(px, {PIN: forged_green})
        assert f.get("/forged-green") == "blue"
        assert f.last_set.get(PIN) not in (None, forged_green), \
            "a forged pin was not replaced by a fresh one"

    px.reload(weights={"blue": 0, "green": 100})
    forged = {
        "last signature digit flipped": _flip_hex(genuine, len(genuine) - 1),
        "middle signature digit flipped": _flip_hex(genuine, len(genuine) - 20),
        "signature truncated": genuine[:-1],
        "signature extended": genuine + "0",
        "signed by another key": foreign,
        "garbage": "garbage",
        "empty": "",
        "dots only": "...",
    }
    for what, value in forged.items():
        f = Session(px, {PIN: value})
        got = f.get(f"/forged-{len(value)}")
        assert got == "green", f"{what} pin {value!r} was followed to {got}"
        new_pin = f.last_set.get(PIN)
        assert new_pin and new_pin != value, f"{what}: not re-pinned ({f.last_set})"
        # The fresh pin is a genuine one, to green.
        assert f.pools(5, "repinned") == Counter(green=5), what
    # The genuine pin is still honoured: the forged ones were told apart by the signature.
    assert Session(px, {PIN: genuine}).pools(10, "genuine") == Counter(blue=10)


def test_rollback_overrides_pins_to_the_candidate(cutover):
    px = cutover(weights={"blue": 0, "green": 100}, affinity=_pin_affinity())
    s = Session(px)
    assert s.get("/pin") == "green" and PIN in s.last_set
    assert s.pools(10, "green") == Counter(green=10)
    green_pin = s.jar[PIN]
    px.reload(weights={"blue": 100, "green": 0})
    assert s.pools(50, "rolled-back") == Counter(blue=50), \
        "a session pinned to green stayed there after rollback (green = 0)"
    # A client replaying the old (green) pin cookie is also sent to blue.
    replay = Session(px, {PIN: green_pin})
    assert replay.pools(10, "replay") == Counter(blue=10)
