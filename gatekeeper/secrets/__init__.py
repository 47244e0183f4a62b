"""Secret detection: precompiled patterns with cheap prefilters, and the precision filters.

Usage::

    from gatekeeper.secrets import scan_text
    for hit in scan_text(text, "config/app.yaml"):
        print(hit.detector, hit.line, redact(hit.value))

``scan_text`` never returns anything but the raw value inside ``RawHit``; callers turn it
into a redacted form and a sha256 fingerprint (``redact`` / ``value_fingerprint``) before
it leaves the process.
"""

from __future__ import annotations

from gatekeeper.secrets.detect import RawHit, redact, scan_text, value_fingerprint

__all__ = ["RawHit", "redact", "scan_text", "value_fingerprint"]
