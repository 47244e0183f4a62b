"""Judging an attestation's signatures against the keys a policy trusts for one stage.

A signature is a DSSE signature checked under the policy's PEM keys (``SignatureCheck``) or a
Sigstore bundle over the same payload checked under its trusted root (``IdentityCheck``):
both count toward ``threshold`` alike, one signer once. A PEM key is one signer however often
it signed; a keyless signer is one identity (issuer and subject) however many certificates
it was issued and however many identity keys of the policy describe it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from securesystemslib.signer import SSlibKey

from gatekeeper.attest.dsse import SignatureCheck
from gatekeeper.models.policy import StagePolicy
from gatekeeper.models.verdict import Reason


@dataclass(frozen=True)
class IdentityCheck:
    """What one Sigstore bundle turned out to be (``gatekeeper.verify.sigstore``)."""

    index: int
    verified_by: tuple[str, ...]  # identity key names of the policy its signer matches
    signer_id: str  # one keyless signer (issuer and subject), counted once
    signer: str  # for messages
    problem: Reason | None = None  # the bundle did not verify (its signer is not trusted)
    claimed_keyid: str = ""


@dataclass(frozen=True)
class SignatureJudgement:
    trusted_keyids: frozenset[str]
    reason: Reason | None  # None: the stage's threshold is met


@dataclass
class _Tally:
    """What the signatures on one envelope amount to, under the keys of one stage."""

    trusted: set[str] = field(default_factory=set)  # key ids of trusted keys that verified
    untrusted_valid: set[str] = field(default_factory=set)  # policy key names, not for stage
    bad_claims: list[str] = field(default_factory=list)  # known (or no) key id, not verifying
    unknown: list[str] = field(default_factory=list)  # key id hints the policy does not know
    names: set[str] = field(default_factory=set)  # stage key names that signed
    failed: list[Reason] = field(default_factory=list)  # bundles that did not verify
    strangers: list[str] = field(default_factory=list)  # verified signers no key names


Check = SignatureCheck | IdentityCheck


def _tally(checks: Sequence[Check], stage: StagePolicy, keys: Mapping[str, SSlibKey]) -> _Tally:
    trusted_names = set(stage.signed_by)
    known_ids = {key.keyid: n for n, key in keys.items()}
    tally = _Tally()
    for check in checks:
        hits = [n for n in check.verified_by if n in trusted_names]
        if hits:
            # SECURITY: the signer, not the policy name, is what counts once.
            if isinstance(check, IdentityCheck):
                tally.trusted.add(check.signer_id)
            else:
                tally.trusted.update(keys[n].keyid for n in hits)
            tally.names.update(hits)
        elif check.verified_by:
            tally.untrusted_valid.update(check.verified_by)
        elif isinstance(check, IdentityCheck):
            if check.problem is not None:
                tally.failed.append(check.problem)
            else:
                tally.strangers.append(check.signer)
        elif check.claimed_keyid in known_ids or not check.claimed_keyid:
            tally.bad_claims.append(known_ids.get(check.claimed_keyid, "(no key id)"))
        else:
            tally.unknown.append(check.claimed_keyid[:16])
    return tally


def _nothing_trusted(tally: _Tally, stage: StagePolicy, where: str) -> Reason:
    name = stage.name
    if tally.failed and not (tally.untrusted_valid or tally.strangers or tally.bad_claims):
        return tally.failed[0]
    if tally.bad_claims:
        return Reason(
            code="verify/bad-signature",
            stage=name,
            message=f"signature on {where} does not verify (claims key "
            f"{', '.join(sorted(set(tally.bad_claims)))}): the payload or signature was altered",
        )
    if tally.untrusted_valid:
        msg = (
            f"signed only by {', '.join(sorted(tally.untrusted_valid))}, which the policy does "
            f"not trust for stage {name} (trusted: {', '.join(stage.signed_by)})"
        )
    elif tally.strangers:
        msg = (
            f"signed keyless by {'; '.join(sorted(set(tally.strangers)))}, an identity no key "
            f"of the policy names (trusted for stage {name}: {', '.join(stage.signed_by)})"
        )
    else:
        msg = (
            f"signed only by key(s) the policy does not know (key id hint "
            f"{', '.join(sorted(set(tally.unknown)))}); trusted: {', '.join(stage.signed_by)}"
        )
    return Reason(code="verify/untrusted-key", stage=name, message=msg)


def _below_threshold(tally: _Tally, stage: StagePolicy) -> Reason:
    signed = sorted(tally.names)
    extra = ""
    if tally.bad_claims or tally.failed:
        extra = f"; {len(tally.bad_claims) + len(tally.failed)} other signature(s) do not verify"
    return Reason(
        code="verify/threshold",
        stage=stage.name,
        message=f"{len(tally.trusted)} of the {stage.threshold} distinct trusted keys required "
        f"signed ({', '.join(signed)}){extra}",
    )


def judge_signatures(
    checks: Sequence[Check], stage: StagePolicy, keys: Mapping[str, SSlibKey], where: str
) -> SignatureJudgement:
    """Count distinct trusted signers that verified; explain the shortfall if any.

    SECURITY: a key counts once however many signatures it made; two policy names for
    one key count once; the envelope's keyid never decides which key signed. A keyless
    signer counts once however many bundles and identity keys name it.
    """
    if not checks:
        return SignatureJudgement(
            frozenset(),
            Reason(
                code="verify/unsigned",
                stage=stage.name,
                message=f"attestation {where} carries no signature",
            ),
        )
    tally = _tally(checks, stage, keys)
    trusted = frozenset(tally.trusted)
    if len(trusted) >= stage.threshold:
        return SignatureJudgement(trusted, None)
    if not trusted:
        return SignatureJudgement(trusted, _nothing_trusted(tally, stage, where))
    return SignatureJudgement(trusted, _below_threshold(tally, stage))
