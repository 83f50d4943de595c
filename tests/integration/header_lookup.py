"""Case-insensitive field lookup shared by parsed requests and responses (RFC 9110 §5.1)."""

from __future__ import annotations

from typing import Optional


class HeaderLookup:
    """Mixin for a message with `headers`: a list of (name, value) pairs in wire order."""

    headers: list

    def header(self, name: str) -> Optional[str]:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list:
        lname = name.lower()
        return [v for n, v in self.headers if n.lower() == lname]

    def has(self, name: str) -> bool:
        return bool(self.header_all(name))
