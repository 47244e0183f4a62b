"""What text a file holds: the secret scan reads every file through ``decode``.

A file is binary only when its content cannot hold text, never because of its first bytes
alone: ``BZh`` or ``MZ`` start ordinary words, one stray NUL does not make a config file an
image, and UTF-16 and UTF-32 text is full of NULs. So:

- a byte-order mark decides the encoding (UTF-8, UTF-16 and UTF-32, either byte order);
- without one, text whose every second (or every fourth) byte is NUL is decoded as UTF-16
  (or UTF-32) when that gives printable text;
- otherwise the share of control bytes decides: text has almost none (tab, line ends, form
  feed and escape are text), compressed or compiled data about one byte in ten. Text with a
  few stray control bytes is decoded as UTF-8 (undecodable bytes replaced) and scanned
  around them.

A binary file is still searched for credential formats, which are ASCII however they are
stored (``detect.scan_binary``).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Literal

__all__ = ["Decoded", "decode"]

Encoding = Literal["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "binary"]

# Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS: tuple[tuple[bytes, Encoding], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Control bytes that text does not hold: all below 0x20 except backspace, tab, line feed,
# vertical tab, form feed, carriage return and escape; and DEL.
_CONTROL = bytes([*range(0x00, 0x08), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
# Above this share of control bytes the content is data. Random and compressed bytes hold
# about 10 %; text with stray NULs a fraction of a percent. A few stray bytes never count.
_MAX_CONTROL_SHARE = 0.02
_STRAY_CONTROL = 4
_SAMPLE = 8192  # bytes looked at to recognise BOM-less UTF-16/32
_MIN_PRINTABLE = 0.95  # share of printable characters a wide decoding must give


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: Encoding

    @property
    def is_binary(self) -> bool:
        return self.encoding == "binary"


def _printable_share(text: str) -> float:
    if not text:
        return 0.0
    good = sum(1 for ch in text if (ch.isprintable() or ch in "\t\r\n\f") and ch != "\ufffd")
    return good / len(text)


def _wide(data: bytes) -> Encoding | None:
    """UTF-16 or UTF-32 without a byte-order mark, recognised by where its NULs are."""
    sample = data[:_SAMPLE]
    if len(sample) < 4 or sample.count(0) * 4 < len(sample):
        return None  # NOTE: wide text of ASCII is at least a quarter NULs (half for UTF-16)
    candidates: tuple[tuple[Encoding, int], ...] = (
        ("utf-32-le", 4),
        ("utf-32-be", 4),
        ("utf-16-le", 2),
        ("utf-16-be", 2),
    )
    for encoding, unit in candidates:
        chunk = sample[: len(sample) - len(sample) % unit]
        if _printable_share(chunk.decode(encoding, "replace")) >= _MIN_PRINTABLE:
            return encoding
    return None


def decode(data: bytes) -> Decoded:
    """The text ``data`` holds, and how it was read (``binary``: none; see ``scan_binary``)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return Decoded(data[len(bom) :].decode(encoding, "replace"), encoding)
    if b"\x00" in data:
        wide = _wide(data)
        if wide is not None:
            return Decoded(data.decode(wide, "replace"), wide)
    limit = max(len(data) * _MAX_CONTROL_SHARE, _STRAY_CONTROL)
    # NOTE: most binaries are decided by their NULs alone (a count, no copy of the data).
    if data.count(0) > limit or len(data) - len(data.translate(None, _CONTROL)) > limit:
        return Decoded("", "binary")
    return Decoded(data.decode("utf-8", "replace"), "utf-8")
