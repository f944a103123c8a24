"""`make demo`'s CONTRACTS §13 part: the order tracking tag on a thank-you page.

demo-affiliate's merchant puts tag.js on its thank-you page (https://shop.demo-affiliate.test).
This module does what that page does in a browser: it loads the tag, then posts the beacon
with the page's Origin (text/plain JSON, as navigator.sendBeacon sends it). The order is
recorded once as `Pixel Tracked` (pending, whatever the profile says) and credited to the
publisher; a reload is a duplicate; a page of another origin is refused (403, no CORS
headers); the pixel answers its GIF even to a wrong key, and records nothing.
tests/integration/test_tracking_browser.py does the same in a real headless Chromium.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx

from demo.events import EventLog
from demo.player import Player, of_type
from demo.system import SystemFailed
from orderflow.shared import topics

TENANT, ORDER, MEMBER = "demo-affiliate", "aff-tagged", "pub-tag"
KEY = "pk_demo_affiliate_tag"  # public: it sits in the page (config/tenants/demo-affiliate.yaml)
SHOP, ELSEWHERE = "https://shop.demo-affiliate.test", "https://elsewhere.test"
ORDER_ON_PAGE = {"order_id": ORDER, "amount": "80.00", "currency": "EUR", "member_id": MEMBER}


async def tracking_lines(urls: Mapping[str, str], log: EventLog, timeout_s: float) -> list[str]:
    """Plays the page, its reload and a foreign page; the lines to print."""
    track = f"{urls['ingest']}/v1/track/{TENANT}"
    lines = [f"\n== {TENANT} / {ORDER}: the thank-you page's tag (§13)"]
    async with httpx.AsyncClient(timeout=30.0) as client:
        script = await client.get(f"{track}/tag.js")
        _expect(script, 200, "GET tag.js")
        lines.append(f"  GET  {track}/tag.js -> 200, {len(script.content)} bytes of script")
        body = json.dumps({"key": KEY, **ORDER_ON_PAGE})
        for what, origin, status in (
            ("the page", SHOP, 204),
            ("its reload (a duplicate)", SHOP, 204),
            ("a page elsewhere", ELSEWHERE, 403),
        ):
            headers = {"Origin": origin, "Content-Type": "text/plain;charset=UTF-8"}
            answer = await client.post(track, content=body, headers=headers)
            _expect(answer, status, f"POST the beacon from {origin}")
            cors = answer.headers.get("access-control-allow-origin", "none")
            lines.append(f"  POST {track} from {what}: {answer.status_code}, CORS: {cors}")
        pixel = await client.get(
            f"{track}/pixel.gif", params={**ORDER_ON_PAGE, "key": "pk_wrong_key"}
        )
        _expect(pixel, 200, "GET the pixel")
        lines.append(
            f"  GET  {track}/pixel.gif with a wrong key: 200 {pixel.headers['content-type']}"
        )
        aff = Player(client, urls, TENANT, log, timeout_s)
        await aff.seen(
            ORDER, topics.ORDERS_LIFECYCLE, "the tag's status", of_type("order.status_changed")
        )
        await aff.seen(
            ORDER, topics.ORDERS_ATTRIBUTION, "the credit", of_type("order.attributed", MEMBER)
        )
        lines += aff.timeline(ORDER, "recorded once by the tag", lifecycle=True)[1:]
    return lines


def _expect(answer: httpx.Response, status: int, what: str) -> None:
    if answer.status_code != status:
        raise SystemFailed(f"{what} answered {answer.status_code}, not {status}: {answer.text}")
