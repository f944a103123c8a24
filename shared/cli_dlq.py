"""`orderflow dlq list|show|replay --service S`: the dead letters a service kept.

- `list` (filters `--since`, `--error-type`): one line per dead letter, oldest first.
- `show ID`: the dead letter with its original record (value as text when it is UTF-8).
- `replay` (`ID...`, or every not-yet-replayed one the filters select; `--dry-run` only
  lists them): republishes each original record to its original topic through the service's
  outbox. Replaying twice has one effect: a replayed dead letter is marked and skipped.
Fix the cause first (add the unknown tenant, fix the rule): a record that fails again
becomes a new dead letter.
"""

from __future__ import annotations

import argparse
import base64
import json
from datetime import datetime

from orderflow.shared import dead_letter_store as store
from orderflow.shared.cli_env import connect, described


def instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone offset, e.g. 2026-12-01T10:00:00+00:00")
    return value


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "dlq",
        help="list, show and replay a service's dead letters",
        **described(__doc__),
    )
    actions = parser.add_subparsers(dest="action", required=True)
    texts = {
        "list": "the dead letters, oldest first",
        "show": "one dead letter with its original record",
        "replay": "republish original records to their topics, each once",
    }
    for action, text in texts.items():
        sub = actions.add_parser(action, help=text, description=text)
        sub.add_argument("--service", required=True, help="the service whose dead letters")
        if action == "show":
            sub.add_argument("id", help="the dead letter's id (from `list`)")
        else:
            sub.add_argument("--since", type=instant, help="dead at or after (ISO, with offset)")
            sub.add_argument("--error-type", help="only this error_type (e.g. unknown_tenant)")
        if action == "replay":
            sub.add_argument("ids", nargs="*", metavar="ID", help="only these dead letters")
            sub.add_argument("--dry-run", action="store_true", help="say what would be replayed")
        sub.set_defaults(run=_run)


def _line(letter: store.DeadLetter) -> str:
    replayed = letter.replayed_at.isoformat() if letter.replayed_at else "-"
    error = letter.error if len(letter.error) <= 80 else letter.error[:77] + "..."
    return (
        f"{letter.event_id}  {letter.dead_at.isoformat()}  {letter.topic}"
        f"[{letter.partition}]@{letter.offset}  {letter.tenant}  {letter.error_type}"
        f"  replayed={replayed}  {error}"
    )


def _shown(letter: store.DeadLetter) -> str:
    try:
        value: object = {"text": letter.value.decode()}
    except UnicodeDecodeError:
        value = {"base64": base64.b64encode(letter.value).decode()}
    fields = {
        **{k: v for k, v in letter.__dict__.items() if k not in ("key", "value")},
        "key": letter.key.decode(errors="replace") if letter.key else None,
        "value": value,
    }
    return json.dumps(fields, default=str, indent=2)


async def _run(args: argparse.Namespace) -> int:
    async with connect(args.service) as conn:
        if args.action == "show":
            found = await store.find(conn, store.Filters(event_ids=(args.id,)))
            if not found:
                print(f"{args.service}: no dead letter {args.id}")
                return 1
            print(_shown(found[0]))
            return 0
        replaying = args.action == "replay"
        filters = store.Filters(
            since=args.since,
            error_type=args.error_type,
            event_ids=tuple(getattr(args, "ids", ())),
            include_replayed=not replaying,
        )
        letters = await store.find(conn, filters)
        if not replaying or args.dry_run:
            for letter in letters:
                print(_line(letter))
            verb = "would be replayed" if replaying else "dead letter(s)"
            print(f"{args.service}: {len(letters)} {verb}")
            return 0
        done = [letter for letter in letters if await store.replay(conn, letter.event_id)]
        for letter in done:
            print(f"replayed {letter.event_id} to {letter.topic}")
        print(f"{args.service}: {len(done)} replayed ({len(letters) - len(done)} already were)")
        return 0
