"""The order tracking tag (CONTRACTS §13) in a real headless Chromium: a thank-you page
served by the test loads tag.js from ingest, and the beacon records the order once.

The browser is the system's Chromium (`make chromium` installs it; ORDERFLOW_CHROMIUM names
another): never skipped, a missing browser fails the test with how to get one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.async_api import Browser, Response, async_playwright

from tests.harness import eventually, free_port
from tests.tracking_support import rejected, tagged_ingest, write_tag_tenants

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = os.environ.get("ORDERFLOW_CHROMIUM", "/usr/bin/chromium")
THANK_YOU = """<!doctype html><html><head><title>Thank you</title></head><body>
<h1>Thank you for your order</h1>
<script>window.orderflowOrder = {order_id: "W-1001", amount: "59.90", currency: "EUR",
  member_id: "aff-7"};</script>
<script async src="%s/v1/track/shop/tag.js"></script>
</body></html>"""


class _Page(BaseHTTPRequestHandler):
    def __init__(self, html: bytes, *args: object) -> None:
        self._html = html
        super().__init__(*args)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self._html)

    def log_message(self, *_: object) -> None:  # quiet test output
        pass


@contextmanager
def shop_page(port: int, ingest_base: str) -> Iterator[str]:
    """The shop's thank-you page at http://127.0.0.1:<port>/thank-you."""
    html = (THANK_YOU % ingest_base).encode()
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(_Page, html))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/thank-you"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make chromium` (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def test_a_thank_you_page_records_its_order_once_and_a_foreign_origin_nothing(
    stack_env: dict[str, str], tmp_path: Path, browser: Browser
) -> None:
    shop_port, foreign_port = free_port(), free_port()
    tenants = write_tag_tenants(tmp_path / "t", [f"http://127.0.0.1:{shop_port}"])
    refused_before = rejected("shop", "origin")
    async with tagged_ingest(stack_env, tenants) as tag:
        page = await browser.new_page()
        beacons: list[int] = []  # the answer to each beacon the pages sent

        def answered(response: Response) -> None:
            if response.url == f"{tag.base}/v1/track/shop" and response.request.method == "POST":
                beacons.append(response.status)

        page.on("response", answered)
        with shop_page(shop_port, tag.base) as shop, shop_page(foreign_port, tag.base) as foreign:
            await page.goto(shop)
            await eventually(partial(_beacons, beacons, 1), what="the first beacon", timeout=30)
            await page.reload()
            await eventually(partial(_beacons, beacons, 2), what="the reload's beacon", timeout=30)
            await page.goto(foreign)
            await eventually(partial(_beacons, beacons, 3), what="the foreign beacon", timeout=30)
        rows = await tag.reports()
    assert beacons == [204, 204, 403]
    assert rejected("shop", "origin") == refused_before + 1, "refused for its origin"
    assert len(rows) == 1, "the reload was a duplicate; the foreign origin recorded nothing"
    [row] = rows
    assert (row["order_id"], row["status"], row["source"], row["category"]) == (
        "W-1001",
        "Pixel Tracked",
        "tag",
        "pending",
    )


async def _beacons(beacons: list[int], n: int) -> bool:
    return len(beacons) >= n
