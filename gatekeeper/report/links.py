"""Links from a finding (or a verifier reason) to its rule's section of the rule catalogue.

The catalogue is docs/rules.md in gatekeeper's own source, generated from the rule records;
each rule has a section with the anchor its record names. Where that page is published
depends on where this copy of gatekeeper came from, so the base is found, in order:

1. ``GATEKEEPER_RULES_URL``: an ``http(s)`` URL of the catalogue (a mirror, an internal
   copy, the page at the commit the CI pinned); anything else is ignored.
2. The forge and commit pip recorded when gatekeeper was installed from a git URL on
   GitHub or GitLab (``pip install git+https://github.com/OWNER/gatekeeper@SHA``; PEP 610's
   ``direct_url.json``): the catalogue at exactly that commit.
3. Otherwise no web address is known, and the link is the catalogue's path in gatekeeper's
   source, ``docs/rules.md#ANCHOR``, which text and Markdown show as it is. SARIF's
   ``helpUri`` must be an absolute URI, so it is left out then (its ``help`` carries the
   rule's whole text anyway).

A link never points at a page nobody published.
"""

from __future__ import annotations

import functools
import json
import os
import re
from urllib.parse import urlsplit, urlunsplit

from gatekeeper.report.base import rule_record

RULES_URL_ENV = "GATEKEEPER_RULES_URL"
RULES_DOC = "docs/rules.md"

_FORGE_BLOB = {"github.com": "/blob/", "gitlab.com": "/-/blob/"}
_COMMIT = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


def forge_catalogue_url(direct_url: str) -> str | None:
    """The catalogue's address on the forge a PEP 610 ``direct_url.json`` names, or None.

    Only a git install over https from GitHub or GitLab with a full commit id qualifies;
    any user name or token in the URL is dropped.
    """
    try:
        data = json.loads(direct_url)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    vcs = data.get("vcs_info")
    url = data.get("url")
    if not isinstance(vcs, dict) or vcs.get("vcs") != "git" or not isinstance(url, str):
        return None
    commit = vcs.get("commit_id")
    if not isinstance(commit, str) or not _COMMIT.match(commit):
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or host not in _FORGE_BLOB:
        return None
    path = parts.path.rstrip("/").removesuffix(".git")
    if path.count("/") < 2:
        return None
    # SECURITY: never repeat credentials a URL may carry (user:token@host).
    base = urlunsplit(("https", host, path, "", ""))
    return f"{base}{_FORGE_BLOB[host]}{commit}/{RULES_DOC}"


@functools.cache
def _installed_from() -> str | None:
    from importlib import metadata

    try:
        text = metadata.distribution("gatekeeper").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    return forge_catalogue_url(text) if text else None


def _from_environment() -> str | None:
    value = os.environ.get(RULES_URL_ENV, "").strip()
    if not value or any(c.isspace() for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def catalogue_url() -> str | None:
    """The web address of the rule catalogue, or None when none is known (see above)."""
    return _from_environment() or _installed_from()


def rule_url(rule_id: str) -> str | None:
    """The absolute URL of ``rule_id``'s section; None without a catalogue address or record."""
    record = rule_record(rule_id)
    base = catalogue_url()
    if record is None or base is None:
        return None
    return f"{base}#{record.anchor}"


def rule_link(rule_id: str) -> str:
    """Where to read about ``rule_id``: its URL, else its section of docs/rules.md."""
    record = rule_record(rule_id)
    anchor = record.anchor if record is not None else rule_id.replace("/", "-")
    base = catalogue_url()
    return f"{base}#{anchor}" if base is not None else f"{RULES_DOC}#{anchor}"


__all__ = [
    "RULES_DOC",
    "RULES_URL_ENV",
    "catalogue_url",
    "forge_catalogue_url",
    "rule_link",
    "rule_url",
]
