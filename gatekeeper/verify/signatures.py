"""Judging an envelope's signatures against the keys a policy trusts for one stage."""

from __future__ import annotations

from dataclasses import dataclass

from securesystemslib.signer import SSlibKey

from gatekeeper.attest.dsse import SignatureCheck
from gatekeeper.models.policy import StagePolicy
from gatekeeper.models.verdict import Reason


@dataclass(frozen=True)
class SignatureJudgement:
    trusted_keyids: frozenset[str]
    reason: Reason | None  # None: the stage's threshold is met


def judge_signatures(
    checks: list[SignatureCheck], stage: StagePolicy, keys: dict[str, SSlibKey], where: str
) -> SignatureJudgement:
    """Count distinct trusted keys that verified; explain the shortfall if any.

    SECURITY: a key counts once however many signatures it made; two policy names for
    one key count once; the envelope's keyid never decides which key signed.
    """
    name = stage.name
    if not checks:
        return SignatureJudgement(
            frozenset(),
            Reason(
                code="verify/unsigned",
                stage=name,
                message=f"attestation {where} carries no signature",
            ),
        )
    trusted_names = set(stage.signed_by)
    known_ids = {key.keyid: n for n, key in keys.items()}
    trusted: set[str] = set()
    untrusted_valid: set[str] = set()
    bad_claims: list[str] = []
    unknown: list[str] = []
    for check in checks:
        hits = [n for n in check.verified_by if n in trusted_names]
        if hits:
            trusted.update(keys[n].keyid for n in hits)
        elif check.verified_by:
            untrusted_valid.update(check.verified_by)
        elif check.claimed_keyid in known_ids or not check.claimed_keyid:
            bad_claims.append(known_ids.get(check.claimed_keyid, "(no key id)"))
        else:
            unknown.append(check.claimed_keyid[:16])
    if len(trusted) >= stage.threshold:
        return SignatureJudgement(frozenset(trusted), None)
    if not trusted:
        if bad_claims:
            return SignatureJudgement(
                frozenset(),
                Reason(
                    code="verify/bad-signature",
                    stage=name,
                    message=f"signature on {where} does not verify (claims key "
                    f"{', '.join(sorted(set(bad_claims)))}): the payload or signature was altered",
                ),
            )
        if untrusted_valid:
            msg = (
                f"signed only by {', '.join(sorted(untrusted_valid))}, which the policy does not "
                f"trust for stage {name} (trusted: {', '.join(stage.signed_by)})"
            )
        else:
            msg = (
                f"signed only by key(s) the policy does not know (key id hint "
                f"{', '.join(sorted(set(unknown)))}); trusted: {', '.join(stage.signed_by)}"
            )
        return SignatureJudgement(
            frozenset(), Reason(code="verify/untrusted-key", stage=name, message=msg)
        )
    signed = sorted(n for n in stage.signed_by if keys[n].keyid in trusted)
    extra = ""
    if bad_claims:
        extra = f"; {len(bad_claims)} other signature(s) do not verify"
    return SignatureJudgement(
        frozenset(trusted),
        Reason(
            code="verify/threshold",
            stage=name,
            message=f"{len(trusted)} of the {stage.threshold} distinct trusted keys required "
            "signed "
            f"({', '.join(signed)}){extra}",
        ),
    )
