"""Headless Chromium driven over the DevTools protocol, standard library only.

The browser is started with --remote-debugging-pipe: it reads commands on its fd 3 and writes
answers and events on its fd 4, each message one JSON text ended by a NUL byte. So no
websocket client and no debugging port are needed.

    with Chromium(tmp_path / "profile") as browser:
        tab = browser.new_tab()
        tab.navigate("http://127.0.0.1:9901/#token=...")
        tab.wait_for("document.title === 'cutover'")
        tab.screenshot(tmp_path / "page.png")

Every wait is bounded; the browser is stopped by its PID (Browser.close first, then SIGKILL
to the process group it leads, which holds its renderer and utility processes).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Optional

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")

# Network access beyond loopback is closed on the test machines, so everything that would
# phone home (updates, sync, field trials, QUIC probes) is off.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--disable-default-apps", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
    "--password-store=basic", "--remote-debugging-pipe",
)


def find_chromium() -> Optional[str]:
    """The browser's path, or None (then the browser tests are skipped)."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class ProtocolError(AssertionError):
    pass


class Chromium:
    """One headless browser process with a fresh profile directory."""

    def __init__(self, profile_dir: Path, width: int = 1440, height: int = 1000,
                 timeout: float = 30.0):
        self.profile_dir = Path(profile_dir)
        self.width, self.height, self.timeout = width, height, timeout
        self.proc: Optional[subprocess.Popen] = None
        self._next_id = 0
        self._lock = threading.Lock()
        self._answers: dict[int, queue.Queue] = {}
        self.events: list[dict] = []  # every event, in arrival order (read them, don't pop)
        self._stderr = None

    # --- process ----------------------------------------------------------------------

    def start(self) -> "Chromium":
        binary = find_chromium()
        assert binary, "no chromium on PATH"
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The browser's ends, moved above 9 so that renumbering them to 3 and 4 below cannot
        # clobber one with the other.
        for fd in (to_browser_r, from_browser_w):
            high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
            os.close(fd)
            if fd == to_browser_r:
                to_browser_r = high
            else:
                from_browser_w = high
        self._stderr = open(self.profile_dir.parent / "chromium.stderr", "wb")
        args = [binary, *FLAGS, f"--user-data-dir={self.profile_dir}",
                f"--window-size={self.width},{self.height}", "about:blank"]
        # The pipe ends must be the child's fds 3 and 4. A shell renumbers them before exec
        # (preexec_fn could too, but it is not safe while the test's backend threads run);
        # bash, since dash takes only one-digit fd numbers.
        script = (f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} '
                  f'{to_browser_r}<&- {from_browser_w}>&-')
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", script, *args], pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr,
            start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._reader = threading.Thread(target=self._read_loop, name="chromium-cdp", daemon=True)
        self._reader.start()
        self.call("Browser.getVersion")  # answers once the browser is up
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self._send("Browser.close", {}, None)
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        # Whatever the browser left behind in its process group (it leads one: new session).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(10)
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._reader.join(5)
        self._stderr.close()
        self.proc = None

    def __enter__(self) -> "Chromium":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stderr_text(self) -> str:
        try:
            return (self.profile_dir.parent / "chromium.stderr").read_text(errors="replace")
        except OSError:
            return ""

    # --- protocol ---------------------------------------------------------------------

    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        answers = self._answers.get(message["id"])
                    if answers is not None:
                        answers.put(message)
                else:
                    self.events.append(message)
        with self._lock:  # wake every caller still waiting: the browser is gone
            for answers in self._answers.values():
                try:
                    answers.put_nowait({"error": {"message": "the browser closed the pipe"}})
                except queue.Full:
                    pass

    def _send(self, method: str, params: dict, session: Optional[str]) -> tuple:
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
            answers = self._answers[message_id] = queue.Queue(maxsize=1)
        message = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            written = os.write(self._to_browser, data)
            data = data[written:]
        return message_id, answers

    def call(self, method: str, params: Optional[dict] = None, session: Optional[str] = None,
             timeout: Optional[float] = None) -> dict:
        """Sends one command and waits (bounded) for its answer; raises on an error answer."""
        message_id, answers = self._send(method, params or {}, session)
        try:
            message = answers.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise ProtocolError(f"{method}: no answer within {timeout or self.timeout}s\n"
                                f"{self.stderr_text()[-3000:]}") from None
        finally:
            with self._lock:
                del self._answers[message_id]
        if "error" in message:
            raise ProtocolError(f"{method}: {message['error']}")
        return message.get("result", {})

    def new_tab(self) -> "Tab":
        """A tab in a fresh browser context: its own cookies and sessionStorage."""
        context = self.call("Target.createBrowserContext")["browserContextId"]
        target = self.call("Target.createTarget",
                           {"url": "about:blank", "browserContextId": context})["targetId"]
        session = self.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        tab = Tab(self, session)
        for domain in ("Page", "Runtime", "Network", "Log"):
            tab.call(f"{domain}.enable")
        tab.call("Emulation.setDeviceMetricsOverride",
                 {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                  "mobile": False})
        return tab


class Tab:
    def __init__(self, browser: Chromium, session: str):
        self.browser = browser
        self.session = session

    def call(self, method: str, params: Optional[dict] = None) -> dict:
        return self.browser.call(method, params, self.session)

    def events(self, method: str) -> list:
        return [e.get("params", {}) for e in list(self.browser.events)
                if e.get("sessionId") == self.session and e.get("method") == method]

    def navigate(self, url: str, timeout: float = 15.0) -> None:
        """Loads url and waits (bounded) until its document has loaded."""
        answer = self.call("Page.navigate", {"url": url})
        assert not answer.get("errorText"), f"navigating to {url}: {answer['errorText']}"
        self.wait_for("location.protocol !== 'about:' && document.readyState === 'complete'",
                      timeout)

    def evaluate(self, expression: str) -> Any:
        """The expression's value (promises awaited), as JSON; raises on a page exception."""
        answer = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in answer:
            raise ProtocolError(f"{expression!r} threw: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0, interval: float = 0.1) -> Any:
        """Polls until the expression is truthy; returns its value. Fails after timeout."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / interval) + 1):
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)  # poll interval
        raise AssertionError(f"not true within {timeout}s: {expression}")

    def screenshot(self, path: Path) -> Path:
        """The whole page as PNG (the viewport grown to the document's height)."""
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        width = self.browser.width
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": max(height, 200), "deviceScaleFactor": 1,
                   "mobile": False})
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": self.browser.height, "deviceScaleFactor": 1,
                   "mobile": False})
        return path

    def problems(self) -> list:
        """Exceptions, console errors and CSP violations the page reported so far."""
        out = [f"exception: {e.get('exceptionDetails', {}).get('text')} "
               f"{e.get('exceptionDetails', {}).get('exception', {}).get('description', '')}"
               for e in self.events("Runtime.exceptionThrown")]
        out += [f"console.{e['type']}: {[a.get('value') for a in e.get('args', [])]}"
                for e in self.events("Runtime.consoleAPICalled") if e.get("type") == "error"]
        out += [f"log ({e['entry'].get('source')}): {e['entry'].get('text')}"
                for e in self.events("Log.entryAdded")
                if e["entry"].get("level") == "error" and e["entry"].get("source") != "network"]
        return out

    def requested_urls(self) -> list:
        return [e["request"]["url"] for e in self.events("Network.requestWillBeSent")]
