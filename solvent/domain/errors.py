"""The one exception type a command can be refused with."""

from __future__ import annotations


class Rejection(Exception):
    """A command refused before anything changed: `code` is stable, `message` is for people.

    Codes are listed, with their meaning, in docs/ARCHITECTURE.md ("Rejection codes").
    """

    __slots__ = ("code", "message")

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
