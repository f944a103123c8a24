"""`python -m demo` end to end: every order's timeline on every public topic, what it left
behind (members' rewards and ledger, in-app inbox, mailbox, webhooks), exit 0, nothing left
running and no personal data printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
_HEADER = re.compile(r"^== (\S+) / (\S+): ")
_SECTION = re.compile(r"^  (\S.*?) \(.*\)$")
_WORK_DIR = re.compile(r" in (/\S+) \.\.\.$", re.MULTILINE)

Row = tuple[str, ...]
Sections = dict[str, list[str]]  # section title -> its lines, spaces collapsed


def printed(output: str) -> dict[str, Sections]:
    """order id -> section title -> the lines printed under that section of the order."""
    found: dict[str, Sections] = {}
    sections: Sections = {}
    lines: list[str] = []
    for line in output.splitlines():
        if header := _HEADER.match(line):
            sections = found.setdefault(header[2], {})
        elif section := _SECTION.match(line):
            lines = sections.setdefault(section[1], [])
        elif line.startswith("    "):
            lines.append(" ".join(line.split()))
    return found


def rows(output: str, title: str) -> dict[str, list[Row]]:
    """order id -> the rows of its `title` table, without the header and the time column."""
    tables: dict[str, list[Row]] = {}
    table: list[Row] = []
    inside = False
    for line in output.splitlines():
        if header := _HEADER.match(line):
            table = tables.setdefault(header[2], [])
            inside = False
        elif section := _SECTION.match(line):
            inside = section[1] == title
        elif inside and re.match(r"^ {4}\d{4}-\d\d-\d\dT", line):
            # Columns are separated by at least two spaces; values hold at most one.
            table.append(tuple(re.split(r" {2,}", line.strip())[1:]))
    return tables


def processes_using(path: str) -> list[int]:
    pids = []
    for process in psutil.process_iter():
        try:
            text = " ".join(process.cmdline()) + " ".join(process.environ().values())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if path in text:
            pids.append(process.pid)
    return pids


@pytest.fixture(scope="module")
def demo_output() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=280
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_demo_prints_each_order_lifecycle_exits_0_and_leaves_nothing_running(
    demo_output: str,
) -> None:
    orders = rows(demo_output, "lifecycle")
    assert orders["L-1001"] == [
        ("status_changed", "Pending", "pending", "Never OK"),
        ("status_changed", "OK", "confirmed", "Has OK"),
        ("confirmed", "OK", "confirmed", "Has OK"),
        ("status_changed", "Cancelled", "cancelled", "Has OK"),
    ]
    assert orders["L-1002"] == [("status_changed", "Cancelled", "cancelled", "Never OK")]
    assert orders["A-2001"] == [
        ("status_changed", "Pixel Tracked", "pending", "Never OK"),
        ("status_changed", "Processing", "pending", "Never OK"),
        ("status_changed", "Sale", "confirmed", "Has OK"),
        ("confirmed", "Sale", "confirmed", "Has OK"),
        # A refund status returns all that was left; its refund goes before the status it caused.
        ("refunded", "120.00 EUR", "full", "-"),
        ("status_changed", "Refund", "refunded", "Has OK"),
        ("reversed", "Refund", "refunded", "Has OK"),
    ]
    assert orders["S-3001"] == [
        ("status_changed", "Received", "pending", "Never OK"),
        ("status_changed", "Accepted", "pending", "Never OK"),
        ("status_changed", "Completed", "confirmed", "Has OK"),
        ("confirmed", "Completed", "confirmed", "Has OK"),
    ]
    assert orders["S-3002"] == [
        ("status_changed", "Pending payment", "pending", "Never OK"),
        ("status_changed", "Expired", "expired", "Never OK"),
        ("expired", "Expired", "expired", "Never OK"),
    ]
    work_dir = _WORK_DIR.search(demo_output)
    assert work_dir is not None, demo_output
    assert not Path(work_dir[1]).exists(), "the temporary directory is removed"
    assert processes_using(work_dir[1]) == [], "no service, Postgres or broker left running"


def test_demo_shows_who_was_credited_explicitly_and_by_last_touch(demo_output: str) -> None:
    credits = rows(demo_output, "attribution")
    assert credits["L-1001"] == [("attributed", "amb-12", "conversation", "explicit", "-")]
    assert credits["L-1002"] == [("attributed", "amb-12", "conversation", "explicit", "-")]
    assert credits["A-2001"] == [("attributed", "aff-7", "affiliation", "explicit", "-")]
    assert credits["S-3001"] == [
        ("attributed", "inf-5", "affiliation", "last_touch", "tp-S-3001-1")
    ]
    assert credits["S-3002"] == [], "nobody touched S-3002's customer"


def test_demo_shows_rewards_commissions_and_each_members_ledger(demo_output: str) -> None:
    assert rows(demo_output, "rewards")["L-1001"] == [
        ("amb-12", "first-order", "100", "first-sale")
    ]
    assert rows(demo_output, "rewards")["L-1002"] == [], "a Never OK order earns nothing"
    assert rows(demo_output, "commissions")["A-2001"] == [
        ("accrued", "aff-7", "18.00", "EUR", "order_confirmed"),
        ("reversed", "aff-7", "-18.00", "EUR", "order_refunded"),
    ]
    members = printed(demo_output)["A-2001"]["members"]
    assert "aff-7: 175 points" in members
    assert "ledger accrued 18.00 EUR A-2001 order_confirmed" in members
    assert "ledger reversed -18.00 EUR A-2001 order_refunded" in members
    balance = "balance EUR accrued 19.20 approved 0.00 reversed 0.00 available 0.00 pending 19.20"
    assert balance in printed(demo_output)["S-3001"]["members"]


def test_demo_shows_the_notifications_in_the_inbox_mailbox_and_webhooks(demo_output: str) -> None:
    store = printed(demo_output)["S-3001"]
    assert "customer:cust-31 (3 unread in all)" in store["in-app inbox"]
    assert "* Order S-3001 confirmed" in store["in-app inbox"]
    assert "to customer:cust-31 Order S-3001 confirmed" in store["mailbox"]
    assert "to merchant:demo-store Order S-3001 confirmed" in store["mailbox"]
    assert "to member:inf-5 You earned 100 points (signature ok)" in store["webhooks"]
    outcomes = {row[0] for table in rows(demo_output, "notifications").values() for row in table}
    assert outcomes == {"sent"}, "every channel delivers in the demo, webhooks included"


def test_demo_prints_no_customer_email_or_name(demo_output: str) -> None:
    assert "@customers.test" not in demo_output
    assert "Example" not in demo_output


def test_demo_shows_invoices_a_failed_charge_and_the_sales_report(demo_output: str) -> None:
    invoiced = rows(demo_output, "lifecycle")["crm-invoiced"]
    assert ("payment_recorded", "inv-2 succeeded 300.00 EUR", "paid 700.00", "-") in invoiced
    assert ("confirmed", "Completed", "confirmed", "Has OK") in invoiced
    declined = rows(demo_output, "lifecycle")["store-declined"]
    assert ("payment_recorded", "ch-1 failed 49.00 EUR", "paid 0.00", "-") in declined
    assert ("expired", "Expired", "expired", "Never OK") in declined
    assert '"payment_system": "demo-pay", "currency": "EUR", "payments": 2' in demo_output
    assert '"offer_id": "consulting", "offer_name": "Consulting package"' in demo_output
