"""Redacting evidence before it leaves the process (``collect`` output, attestations).

Collectors record repository text as written: a workflow's ``env:`` and ``with:`` values,
scripts, commit messages. Audits read it in memory; what is printed or signed into an
attestation must never carry a credential. Every string is cleared of credential formats
and URL passwords, and a ``{key, value}`` entry that the classifier judges a secret
(``classify.classify``) keeps only its redacted form.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.secrets.classify import classify, redact_text

__all__ = ["VERBATIM_KINDS", "dump_evidence", "redact_strings"]

# Evidence kinds that keep repository text verbatim (the others redact when they collect).
VERBATIM_KINDS = frozenset({"pipeline", "source"})
_MIN_TOKEN = 16  # no token format of the detectors is shorter


def _redact_entry(data: dict[Any, Any]) -> dict[Any, Any]:
    out = {k: redact_strings(v) for k, v in data.items()}
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
    if isinstance(data, str) and len(data) >= _MIN_TOKEN:
        return redact_text(data)
    return data


def dump_evidence(kind: str, model: Any) -> Any:
    """The evidence's JSON form, redacted where the collector kept text verbatim."""
    data = model.model_dump(mode="json", by_alias=True)
    return redact_strings(data) if kind in VERBATIM_KINDS else data
