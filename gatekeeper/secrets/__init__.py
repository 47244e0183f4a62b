"""Secrets: detectors over text, the one secret classifier, the context model, redaction.

Usage::

    from gatekeeper.secrets import assess, decode, redact, scan_text, secret_assignment
    text = decode(data).text                  # UTF-8/16/32 by content, text around stray NULs
    for hit in scan_text(text, "config/app.yaml"):
        print(hit.detector, hit.line, hit.shape, redact(hit.value))
    secret_assignment("DB_PASSWORD", value)   # the same answer in every family
    assess(Severity.HIGH, path="tests/conf.yaml").severity   # context lowers: medium

``scan_text`` never returns anything but the raw value inside ``RawHit``; callers turn it
into a redacted form and a sha256 fingerprint (``redact`` / ``value_fingerprint``) before
it leaves the process. Every "does this look like a secret?" question goes through
``gatekeeper.secrets.classify`` (names, placeholders, randomness, credential formats);
``classify.classify(name, value)`` gives the redacted form of a value judged secret.
"""

from __future__ import annotations

from gatekeeper.secrets.classify import (
    is_credential_value,
    is_placeholder,
    is_secret_file,
    is_secret_name,
    is_secret_value,
    looks_random,
    redact,
    secret_assignment,
    token_kind,
    value_fingerprint,
)
from gatekeeper.secrets.context import assess, assess_secret, assess_value, path_context
from gatekeeper.secrets.detect import RawHit, scan_binary, scan_text
from gatekeeper.secrets.redaction import (
    dump_evidence,
    redact_evidence,
    redact_finding,
    redact_strings,
    redact_text,
)
from gatekeeper.secrets.text import decode

__all__ = [
    "RawHit",
    "assess",
    "assess_secret",
    "assess_value",
    "decode",
    "dump_evidence",
    "is_credential_value",
    "is_placeholder",
    "is_secret_file",
    "is_secret_name",
    "is_secret_value",
    "looks_random",
    "path_context",
    "redact",
    "redact_evidence",
    "redact_finding",
    "redact_strings",
    "redact_text",
    "scan_binary",
    "scan_text",
    "secret_assignment",
    "token_kind",
    "value_fingerprint",
]
