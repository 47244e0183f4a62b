"""Judging an envelope's signatures against the keys a policy trusts for one stage."""

from __future__ import annotations

from dataclasses import dataclass, field

from securesystemslib.signer import SSlibKey

from gatekeeper.attest.dsse import SignatureCheck
from gatekeeper.models.policy import StagePolicy
from gatekeeper.models.verdict import Reason


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


def _tally(checks: list[SignatureCheck], stage: StagePolicy, keys: dict[str, SSlibKey]) -> _Tally:
    trusted_names = set(stage.signed_by)
    known_ids = {key.keyid: n for n, key in keys.items()}
    tally = _Tally()
    for check in checks:
        hits = [n for n in check.verified_by if n in trusted_names]
        if hits:
            tally.trusted.update(keys[n].keyid for n in hits)
        elif check.verified_by:
            tally.untrusted_valid.update(check.verified_by)
        elif check.claimed_keyid in known_ids or not check.claimed_keyid:
            tally.bad_claims.append(known_ids.get(check.claimed_keyid, "(no key id)"))
        else:
            tally.unknown.append(check.claimed_keyid[:16])
    return tally


def _nothing_trusted(tally: _Tally, stage: StagePolicy, where: str) -> Reason:
    name = stage.name
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
    else:
        msg = (
            f"signed only by key(s) the policy does not know (key id hint "
            f"{', '.join(sorted(set(tally.unknown)))}); trusted: {', '.join(stage.signed_by)}"
        )
    return Reason(code="verify/untrusted-key", stage=name, message=msg)


def _below_threshold(tally: _Tally, stage: StagePolicy, keys: dict[str, SSlibKey]) -> Reason:
    signed = sorted(n for n in stage.signed_by if keys[n].keyid in tally.trusted)
    extra = ""
    if tally.bad_claims:
        extra = f"; {len(tally.bad_claims)} other signature(s) do not verify"
    return Reason(
        code="verify/threshold",
        stage=stage.name,
        message=f"{len(tally.trusted)} of the {stage.threshold} distinct trusted keys required "
        f"signed ({', '.join(signed)}){extra}",
    )


def judge_signatures(
    checks: list[SignatureCheck], stage: StagePolicy, keys: dict[str, SSlibKey], where: str
) -> SignatureJudgement:
    """Count distinct trusted keys that verified; explain the shortfall if any.

    SECURITY: a key counts once however many signatures it made; two policy names for
    one key count once; the envelope's keyid never decides which key signed.
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
    return SignatureJudgement(trusted, _below_threshold(tally, stage, keys))
