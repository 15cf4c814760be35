"""The console in a real browser: a running ``opsconductor up`` and Debian's chromium driven
by Playwright.

``console`` starts the product as an operator would (the ``opsconductor up`` command, its own
data folder and ports) once per test module; ``login(role)`` opens a browser page logged in
through the login form as a user of that role. Every page a test opens is watched: an error
in the browser console or an uncaught script error fails the test. ``shoot(page, name)`` saves
the page at desktop (1280 px) and phone (390 px) width into ``docs/screenshots/``
(``OPSC_SCREENSHOTS`` overrides), the folder the README names.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import ADMIN_PASSWORD, ROOT, free_port, missing

CHROMIUM = os.environ.get("OPSC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SCREENSHOTS = Path(os.environ.get("OPSC_SCREENSHOTS", ROOT / "docs" / "screenshots"))
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORDS = {
    "admin": ADMIN_PASSWORD, "operator": "Operator-Pass-Word-1",
    "viewer": "Viewer-Pass-Word-22",
}  # fmt: skip


@dataclass
class Console:
    """A running product: its URL, its syslog port and an admin API client."""

    url: str
    syslog_port: int
    api: httpx.Client
    process: subprocess.Popen[bytes]
    log: Path
    users: set[str] = field(default_factory=set)

    def send_syslog(self, *lines: str) -> None:
        """Send each line as one UDP syslog datagram."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for line in lines:
                sock.sendto(line.encode(), ("127.0.0.1", self.syslog_port))

    def user(self, role: str) -> tuple[str, str]:
        """A user with ``role`` (made on first use): (name, password)."""
        if role == "admin":
            return "admin", ADMIN_PASSWORD
        name = f"{role}1"
        if name not in self.users:
            body = {"username": name, "password": PASSWORDS[role], "role": role}
            self.api.post("/api/v1/users", json=body).raise_for_status()
            self.users.add(name)
        return name, PASSWORDS[role]

    def wait_for(self, path: str, check: Callable[[Any], bool], timeout: float = 15.0) -> Any:
        """Poll ``GET path`` until ``check(json)`` holds; return that answer."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.api.get(path).json()
            if check(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} never matched: {str(body)[:500]}")
            time.sleep(0.2)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"opsconductor up exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"opsconductor up never became ready: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """``opsconductor up`` on its own data folder and ports, with an admin API client."""
    folder = tmp_path_factory.mktemp("console")
    port, syslog = free_port(), free_port()
    env = {
        **os.environ, "OPSC_DATA_DIR": str(folder / "data"), "OPSC_HTTP_HOST": "127.0.0.1",
        "OPSC_HTTP_PORT": str(port), "OPSC_SYSLOG_HOST": "127.0.0.1",
        "OPSC_SYSLOG_UDP_PORT": str(syslog), "OPSC_SYSLOG_TCP_PORT": str(free_port()),
        "OPSC_SYSLOG_TLS_PORT": "0", "OPSC_BATCH_MAX_DELAY_MS": "20",
        "OPSC_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }  # fmt: skip
    for name in list(env):
        if name in ("OPSC_DATABASE_URL", "OPSC_NATS_URL"):
            del env[name]
    log = folder / "up.log"
    command = [sys.executable, "-m", "opsconductor", "up"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        token = httpx.post(
            f"{url}/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as api:
            yield Console(url, syslog, api, process, log)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (never a downloaded browser).

    One per test module, stopped at its end: Playwright's synchronous API keeps an event loop
    marked as running while it lives, which the asynchronous tests of other modules cannot
    share."""
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
        missing("Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the Python package playwright (pip install playwright)")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


ASSETS = frozenset({"stylesheet", "script", "image", "font", "manifest"})
NETWORK_NOTE = "Failed to load resource"


@dataclass
class Watched:
    """Errors a page reported: console errors, uncaught exceptions and assets that failed.

    The browser also logs every answer ≥ 400 to the console (``Failed to load resource``);
    those are judged by what was asked instead: a page's own asset that fails is an error,
    while a refusal of the API that the page shows to the person (a 422 on a form, a 403
    page a test asks for) is the product working.
    """

    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> Any:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("response", self._response)
        return page

    def _console(self, message: Any) -> None:
        if message.type == "error" and not message.text.startswith(NETWORK_NOTE):
            self.errors.append(message.text)

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.request.resource_type in ASSETS:
            self.errors.append(f"{response.status} for {response.url}")


@pytest.fixture
def login(console: Console, browser: Any) -> Iterator[Callable[..., Any]]:
    """``login(role, viewport=DESKTOP)``: a page logged in through the login form."""
    contexts: list[Any] = []
    watched = Watched()

    def open_as(role: str = "admin", viewport: dict[str, int] | None = None) -> Any:
        name, password = console.user(role)
        context = browser.new_context(viewport=viewport or DESKTOP, base_url=console.url)
        contexts.append(context)
        page = watched.attach(context.new_page())
        page.goto("/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert not watched.errors, f"errors in the browser console: {watched.errors}"


def shoot(page: Any, name: str) -> None:
    """Save ``page`` as ``<name>-desktop.png`` and ``<name>-phone.png`` (full page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(100)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    if size:
        page.set_viewport_size(size)
