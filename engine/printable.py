"""Text from a file made safe for a terminal and for one-line messages.

Names in a model file (layer and class names, the Keras version, file names) reach the terminal in ``info``'s output
and in error lines. Control characters there could move the cursor, retitle the window or clear the screen
(``\\x1b]0;…\\x07\\x1b[2J``), a newline would break the one-line error rule, and a 2 MB class name would make a 2 MB
line. ``printable`` escapes them; ``clip`` caps a length.
"""
from __future__ import annotations

import re

# C0 and C1 controls, DEL, line/paragraph separators, bidirectional overrides (which reorder what is shown) and lone
# surrogates (undecodable bytes of a file name, which a strict UTF-8 stdout cannot even print)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")

MAX_ERROR_CHARS = 300


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def printable(text: object) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``, ``\\u202e`` …)."""
    return _UNSAFE.sub(_escape, str(text))


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters: the start, then ``…`` and how much was left out."""
    if len(text) <= limit:
        return text
    tail = f"… ({len(text) - limit} more characters)"
    return text[: max(limit - len(tail), 1)] + tail


def clip_middle(text: str, limit: int) -> str:
    """At most ``limit`` characters, keeping both ends (of a path: where it starts and the file name)."""
    if len(text) <= limit:
        return text
    head = limit // 3
    return text[:head] + "…" + text[len(text) - (limit - head - 1):]


def one_line(text: object, limit: int = MAX_ERROR_CHARS) -> str:
    """One line of at most ``limit`` printable characters (runs of whitespace kept as they are, escaped)."""
    return clip(printable(text), limit)
