"""Request ids: a number people can say, and a random tag that no fresh Redis can reproduce."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

__all__ = ["TAG_ALPHABET", "TAG_LENGTH", "RequestId", "new_request_id", "parse_request_id"]

# No 0, 1, i, l or o: an id is read aloud and typed by hand during incidents.
TAG_ALPHABET: Final = "23456789abcdefghjkmnpqrstuvwxyz"
TAG_LENGTH: Final = 5  # 31**5, about 29 million: a stale id matches a new one by chance ~1 in 29M
_ID = re.compile(r"^#?(\d{1,12})(?:-([0-9a-z]{1,16}))?$")


@dataclass(frozen=True)
class RequestId:
    """``12-k7mq3``: ``number`` keys the request in Redis; ``tag`` is None only in what people type
    (a bare number) and in requests stored before ids had tags.

    The number comes from a counter in Redis, so it starts again if Redis loses its data; the tag
    does not. An approval names the whole id, so a message from before the loss can never approve
    the new request that happens to get its number.
    """

    number: int
    tag: str | None = None

    def __str__(self) -> str:
        return f"{self.number}-{self.tag}" if self.tag else str(self.number)


def new_request_id(number: int) -> RequestId:
    return RequestId(number, "".join(secrets.choice(TAG_ALPHABET) for _ in range(TAG_LENGTH)))


def parse_request_id(text: str) -> RequestId:
    """``12-k7mq3``, ``#12-k7mq3`` or a bare ``12``, case-insensitive.

    Raises:
        ValueError: not a request id.
    """
    found = _ID.match(text.strip().lower())
    if found is None:
        raise ValueError(f"{text!r} is not a request id (like 12-k7mq3).")
    return RequestId(int(found.group(1)), found.group(2))
