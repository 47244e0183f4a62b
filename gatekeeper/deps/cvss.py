"""CVSS base scores from vectors: v3.0/v3.1 computed here, v4.0 through the ``cvss`` package.

CVSS v4's base score is a lookup over 270 macro-vectors plus interpolation; the ``cvss``
package (Red Hat, maintained) implements the FIRST reference. Without it a v4 vector yields
no score and the caller falls back to the database severity (or ``high``).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal

__all__ = ["base_score", "severity_of_score"]

_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC = {"L": 0.77, "H": 0.44}
_PR_U = {"N": 0.85, "L": 0.62, "H": 0.27}
_PR_C = {"N": 0.85, "L": 0.68, "H": 0.5}
_UI = {"N": 0.85, "R": 0.62}
_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}


def _roundup(value: float) -> float:
    """CVSS v3.1 Roundup: the smallest one-decimal number >= value, float-noise safe."""
    scaled = round(value * 100000)
    if scaled % 10000 == 0:
        return scaled / 100000.0
    return (math.floor(scaled / 10000) + 1) / 10.0


def _v30_roundup(value: float) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_CEILING))


def _cvss3_metrics(vector: str) -> tuple[str, dict[str, str]]:
    """(version prefix, metric -> value) of a ``CVSS:3.x/...`` vector.

    Raises:
        ValueError: not a v3 vector, or a metric without a value.
    """
    parts = vector.strip().split("/")
    if not parts[0].startswith("CVSS:3"):
        raise ValueError(f"not a CVSS v3 vector: {vector[:40]!r}")
    metrics: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition(":")
        if not sep:
            raise ValueError(f"malformed CVSS metric {part!r}")
        metrics[key] = value
    return parts[0], metrics


def cvss3_base_score(vector: str) -> float:
    """The base score of a ``CVSS:3.x/...`` vector.

    Raises:
        ValueError: a base metric is missing or has an unknown value.
    """
    prefix, metrics = _cvss3_metrics(vector)
    try:
        scope_changed = metrics["S"] == "C"
        if metrics["S"] not in ("U", "C"):
            raise KeyError("S")
        av, ac, ui = _AV[metrics["AV"]], _AC[metrics["AC"]], _UI[metrics["UI"]]
        pr = (_PR_C if scope_changed else _PR_U)[metrics["PR"]]
        c, i, a = _CIA[metrics["C"]], _CIA[metrics["I"]], _CIA[metrics["A"]]
    except KeyError as exc:
        raise ValueError(f"CVSS v3 vector lacks or misspells metric {exc}") from exc
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    if scope_changed:
        impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    else:
        impact = 6.42 * iss
    if impact <= 0:
        return 0.0
    exploitability = 8.22 * av * ac * pr * ui
    roundup = _roundup if prefix == "CVSS:3.1" else _v30_roundup
    total = 1.08 * (impact + exploitability) if scope_changed else impact + exploitability
    return roundup(min(total, 10.0))


def cvss4_base_score(vector: str) -> float | None:
    """The base score of a ``CVSS:4.0/...`` vector, or None when ``cvss`` is not installed.

    Raises:
        ValueError: the vector is malformed.
    """
    try:
        from cvss import CVSS4  # type: ignore[import-untyped]
        from cvss.exceptions import CVSSError  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        return float(CVSS4(vector).base_score)
    except CVSSError as exc:
        raise ValueError(f"malformed CVSS v4 vector: {exc}") from exc


def base_score(vector: str) -> float | None:
    """The base score of a v3 or v4 vector; None for other versions (or v4 without ``cvss``).

    Raises:
        ValueError: a v3/v4 vector is malformed.
    """
    if vector.startswith("CVSS:3"):
        return cvss3_base_score(vector)
    if vector.startswith("CVSS:4"):
        return cvss4_base_score(vector)
    return None


def severity_of_score(score: float) -> str:
    """The CVSS qualitative rating, in gatekeeper's scale (None -> info)."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "info"
