"""DSSE envelope v1 (https://github.com/secure-systems-lab/dsse)."""

from __future__ import annotations

from pydantic import Field

from gatekeeper.models.base import GatekeeperModel, empty_list

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
POLICY_PAYLOAD_TYPE = "application/vnd.gatekeeper.policy+yaml"


class Signature(GatekeeperModel):
    # SECURITY: keyid is only a hint for which key to try first; it is never trusted.
    keyid: str = ""
    sig: str


class Envelope(GatekeeperModel):
    payload: str
    payload_type: str = Field(alias="payloadType")
    signatures: list[Signature] = Field(default_factory=empty_list)
