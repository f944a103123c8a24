"""Name-based (version 5) UUIDs as text: every stable id in orderflow is one of these.

`uuid5_text(ns, name)` is `str(uuid.uuid5(ns, name))` without building a `uuid.UUID` (an int
and its formatting): a third of the time, and ids are made once per report and per event.
"""

from __future__ import annotations

import hashlib
import uuid


def uuid5_text(namespace: uuid.UUID, name: str) -> str:
    """RFC 4122 §4.3: SHA-1 of namespace + name, version 5, variant 10xx, lower-case hex."""
    digest = bytearray(
        hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
