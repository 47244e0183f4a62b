"""Names one edit away from a well-known package of the same ecosystem.

The lists ship as data (``gatekeeper/data/typosquat/<ecosystem>.txt``). A name is suspicious
when, after the ecosystem's normalisation, it is not itself well known and:

- it equals a well-known name once ``-``, ``_`` and ``.`` are removed (separator confusion), or
- one substitution or transposition of adjacent characters turns it into a well-known name of
  4+ characters, or one insertion/deletion does for a well-known name of 6+ characters
  (short names have too many legitimate neighbours: ``react``/``preact``, ``attrs``/``attr``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from gatekeeper.deps.common import normalize_name

__all__ = ["popular_names", "typosquat_target"]

_MIN_SUBSTITUTION = 4
_DATA = Path(__file__).resolve().parent.parent / "data" / "typosquat"
_MIN_INDEL = 6


@functools.cache
def popular_names(ecosystem: str) -> frozenset[str]:
    """The shipped list for ``ecosystem`` (normalised); empty when none ships."""
    try:
        text = (_DATA / f"{ecosystem}.txt").read_text("utf-8")
    except FileNotFoundError:
        return frozenset()
    names = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(_norm(ecosystem, line))
    return frozenset(names)


def _norm(ecosystem: str, name: str) -> str:
    return normalize_name(ecosystem, name).lower()


def _same_length_edit(a: str, b: str) -> str | None:
    diffs = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diffs) == 1:
        return "substitution"
    if (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and a[diffs[0]] == b[diffs[1]]
        and a[diffs[1]] == b[diffs[0]]
    ):
        return "transposition"
    return None


def _indel(a: str, b: str) -> str | None:
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return "indel" if short[i:] == long_[i + 1 :] else None


def _edit_kind(a: str, b: str) -> str | None:
    """'substitution', 'transposition', 'indel' when a and b are one such edit apart."""
    if a == b:
        return None
    if len(a) == len(b):
        return _same_length_edit(a, b)
    return _indel(a, b) if abs(len(a) - len(b)) == 1 else None


def typosquat_target(ecosystem: str, name: str) -> tuple[str, str] | None:
    """(well-known name, how it differs) when ``name`` looks like a typo of it, else None."""
    popular = popular_names(ecosystem)
    candidate = _norm(ecosystem, name)
    if not popular or candidate in popular:
        return None
    bare = re.sub(r"[-_.]", "", candidate)
    for known in sorted(popular):
        if re.sub(r"[-_.]", "", known) == bare:
            return known, "separator confusion"
        kind = _edit_kind(candidate, known)
        if kind in ("substitution", "transposition") and len(known) >= _MIN_SUBSTITUTION:
            return known, f"one {kind}"
        if kind == "indel" and len(known) >= _MIN_INDEL:
            return known, "one inserted or deleted character"
    return None
