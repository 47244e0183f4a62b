"""Redacting evidence and findings before they leave the process.

Collectors record repository text as written: a workflow's ``env:`` and ``with:`` values,
``run:`` scripts, Jenkins ``sh`` steps, GitLab ``script:`` lines, Dockerfile ``RUN`` lines,
commit subjects, dependency URLs. Audits read it in memory; what is printed (``collect``,
``check`` in every format) or signed into an attestation (``attest --audit``) must never
carry a credential. Every string of every kind of evidence is cleared of what the scanner
itself finds in text (credential formats, URL passwords, secret-named assignments such as
``DB_PASSWORD=…``), and a ``{key, value}`` entry that the classifier judges a secret
(``classify.classify``) keeps only its redacted form. Finding messages go through the same
``redact_text`` (``redact_finding``).
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from gatekeeper.models.base import GatekeeperModel
from gatekeeper.models.finding import Finding
from gatekeeper.secrets._values import redact
from gatekeeper.secrets.classify import classify
from gatekeeper.secrets.detect import secret_spans

__all__ = [
    "dump_evidence",
    "redact_evidence",
    "redact_finding",
    "redact_strings",
    "redact_text",
]

M = TypeVar("M", bound=GatekeeperModel)

# The shortest text that can hold a secret the scanner reports (`a://u:pwd@h`, `PW=Zx9kq2Lm`).
_MIN_SECRET_TEXT = 8
# Fields of the secrets evidence that are already redacted forms and fingerprints.
_ALREADY_REDACTED = frozenset({"redacted", "fingerprint", "sha256"})


# NOTE: the same strings recur through evidence (a detail such as "assigned to DB_PASSWORD",
# a path for every hit in its file, a shape): each is read once.
@functools.lru_cache(maxsize=8192)
def redact_text(text: str) -> str:
    """``text`` with every secret the scanner finds in it replaced by its redacted form."""
    if len(text) < _MIN_SECRET_TEXT:
        return text
    for hit in sorted(secret_spans(text), key=lambda h: h.start, reverse=True):
        text = text[: hit.start] + redact(hit.value) + text[hit.end :]
    return text


def _redact_entry(data: dict[Any, Any]) -> dict[Any, Any]:
    out = {k: v if k in _ALREADY_REDACTED else redact_strings(v) for k, v in data.items()}
    key, value = data.get("key"), data.get("value")
    if isinstance(key, str) and isinstance(value, str):
        secret = classify(key, value)
        if secret is not None:
            out["value"] = secret.redacted
    return out


def redact_strings(data: Any) -> Any:
    """A copy of JSON-shaped ``data`` with secrets replaced by their redacted form."""
    if isinstance(data, dict):
        return _redact_entry(data)
    if isinstance(data, list):
        return [redact_strings(v) for v in data]
    if isinstance(data, str):
        return redact_text(data)
    return data


def dump_evidence(kind: str, model: GatekeeperModel) -> Any:
    """The evidence's JSON form, redacted (every kind: each keeps some repository text)."""
    del kind  # NOTE: every kind is redacted; the parameter names what is dumped for callers
    return redact_strings(model.model_dump(mode="json", by_alias=True))


def redact_evidence(model: M) -> M:
    """The same evidence with every secret redacted, as a model (for the text renderers)."""
    data = redact_strings(model.model_dump(mode="json", by_alias=True))
    return type(model).model_validate(data)


def redact_finding(finding: Finding) -> Finding:
    """``finding`` with any secret its message quotes (a script line, a URL) redacted."""
    message = redact_text(finding.message)
    return (
        finding if message == finding.message else finding.model_copy(update={"message": message})
    )
