"""Fixtures: recording backends and the cutover process under test.

    def test_x(cutover):
        px = cutover(timeouts={"idle": "300ms"})   # blue + green backends, 100/0
        px.blue.handler = lambda req: Response(204)
        conn = px.connect()

    px.kill9(); px2 = cutover.restart(px)          # same work dir, state file and audit log

Everything listens on 127.0.0.1 with ports picked at runtime. Every backend thread,
process and client socket is stopped at teardown; a proxy that does not exit 0 on SIGTERM
fails the test, and a failing test shows the proxy's stderr and stdout.
"""

from __future__ import annotations

from typing import Optional

import pytest

from proxy_process import CutoverProcess, binary_path
from recording_backend import RecordingBackend


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: streams hundreds of MiB through the proxy")
    config.addinivalue_line("markers", "multiworker: threads share state under load (TSan stage)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for px in getattr(item, "_cutover_procs", [])[-3:]:
            report.sections.append((f"cutover (port {px.port}) stderr",
                                    px.stderr_text()[-20000:] or "(empty)"))
            out = px.stdout_text()
            if out:
                report.sections.append((f"cutover (port {px.port}) stdout", out[-5000:]))
        # Other processes a test started (e.g. Prometheus): (title, function -> log text).
        for title, log_text in getattr(item, "_extra_logs", []):
            report.sections.append((title, log_text()[-20000:] or "(empty)"))


@pytest.fixture
def backends():
    """Factory: backends(name, handler=None) -> a started RecordingBackend."""
    started: list[RecordingBackend] = []

    def start(name: str, handler=None, **kw) -> RecordingBackend:
        b = RecordingBackend(name, handler, **kw)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


@pytest.fixture
def cutover(request, backends, tmp_path):
    """Factory: cutover(**config) -> a running CutoverProcess with .blue and .green.

    Keyword arguments are those of proxy_process.render_config; `pools` defaults to one
    fresh recording backend per colour and `weights` to blue 100 / green 0.
    """
    if not binary_path().exists():
        pytest.fail(f"cutover binary not found at {binary_path()} (set CUTOVER_BIN)")
    procs: list[CutoverProcess] = []
    request.node._cutover_procs = procs

    def start(run_args: tuple = (), expect_failure: bool = False, **kw) -> CutoverProcess:
        blue = green = None
        if "pools" not in kw:
            blue, green = backends("blue"), backends("green")
            kw["pools"] = {"blue": [blue.address], "green": [green.address]}
        kw.setdefault("weights", {"blue": 100, "green": 0})
        workdir = tmp_path / f"cutover{len(procs)}"
        workdir.mkdir()
        px = CutoverProcess(workdir, kw, blue, green, run_args)
        procs.append(px)
        return px.start_expecting_failure() if expect_failure else px.start()

    def restart(px: CutoverProcess, run_args: Optional[tuple] = None,
                expect_failure: bool = False) -> CutoverProcess:
        """cutover.restart(px): starts px.successor() (same work dir, config file, port,
        backends, state file, audit log) after px was stopped or kill9()'d. With
        expect_failure the start must be refused (see start_expecting_failure)."""
        assert not px.alive(), "stop or kill9() the old process first"
        nxt = px.successor(run_args)
        procs.append(nxt)
        return nxt.start_expecting_failure() if expect_failure else nxt.start()

    start.restart = restart
    yield start
    problems = []
    for px in procs:
        code, killed = px.stop()
        if killed:
            problems.append(f"cutover (port {px.port}) ignored SIGTERM; killed")
        elif px.expected_exit is not None and code != px.expected_exit:
            problems.append(f"cutover (port {px.port}) exited {code}, "
                            f"expected {px.expected_exit}")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture
def proxy(cutover) -> CutoverProcess:
    """The default deployment: blue and green identifying backends, weights 100/0."""
    return cutover()
