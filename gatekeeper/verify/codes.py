"""The verifier's reason codes: what each ``verify/`` code means and what to do about it.

A reason always blocks, so the severity of these records only tells SARIF to show an error.
Reports and docs/rules.md read them next to the audits' rule records; a test checks that
every ``verify/`` code the package can emit is declared here, and only those.
"""

from __future__ import annotations

from gatekeeper.audit.rule import Rule
from gatekeeper.models.finding import Severity


def _code(code: str, summary: str, detail: str) -> Rule:
    return Rule(f"verify/{code}", Severity.HIGH, summary=summary, help=detail)


REASON_CODES: tuple[Rule, ...] = (
    _code(
        "policy-invalid",
        "the policy does not parse or validate",
        "Nothing can be verified against a policy that is not understood. Fix the error the "
        "reason names (an unknown key, a missing key file, a stage without signers), then "
        "verify again.",
    ),
    _code(
        "policy-expired",
        "the policy's `expires` has passed",
        "A policy expires so that trust decisions are reviewed. Review it, set a new `expires`, "
        "and sign it again if it is signed.",
    ),
    _code(
        "policy-unsigned",
        "a policy key was given and the policy's signature does not verify under it",
        "The policy may have been altered after it was signed, or signed by another key. Sign "
        "the reviewed policy again with the policy key, or find out who changed it.",
    ),
    _code(
        "policy-rollback",
        "the policy's `serial` is lower than one this gate already accepted for the policy's "
        "name (or equal with other content, or missing): an older policy was put back",
        "A signature proves who wrote a policy, not that it is the current one. Use the "
        "current policy; when a change is intended, raise its `serial` above the one the "
        "decision log remembers and sign it again.",
    ),
    _code(
        "missing-stage",
        "a required stage has no attestation for the artifact",
        "The artifact did not pass through a stage the policy requires, or its attestation was "
        "not stored where the verifier looks. Run the stage with `gatekeeper attest` for this "
        "artifact, or point `--store` at the store that holds it.",
    ),
    _code(
        "unsigned",
        "an attestation has no signature",
        "An unsigned attestation can be written by anyone. Sign the stage with a key the policy "
        "trusts (`gatekeeper attest --key`).",
    ),
    _code(
        "bad-signature",
        "a signature does not verify",
        "The attestation was altered after signing, or the signature is forged or corrupt. Do "
        "not promote; find out where the envelope came from and run the stage again.",
    ),
    _code(
        "untrusted-key",
        "the only valid signatures are by keys the policy does not trust for that stage",
        "A signature proves who signed only when the policy trusts that signer for the stage. "
        "Sign with a key the stage's `signed_by` lists, or add the key to the policy after "
        "review.",
    ),
    _code(
        "certificate-invalid",
        "a Sigstore bundle's signing certificate was not valid when it signed: expired or not "
        "yet valid at the time the log or a timestamp authority recorded, no valid signed "
        "certificate timestamp, or not a code-signing certificate",
        "A keyless signature is only as good as the ten-minute certificate behind it. A "
        "signature made outside the certificate's validity is what a stolen or replayed key "
        "looks like. Sign again in the pipeline; do not promote on this bundle.",
    ),
    _code(
        "log-entry-invalid",
        "a Sigstore bundle's transparency-log entry is missing, does not match the bundle, or "
        "its inclusion proof, checkpoint or promise does not verify under the trusted root "
        "(or no trusted signing time could be established)",
        "Without a verified log entry nobody can see the signature was made, and nothing proves "
        "when. Use the bundle the signing tool wrote (with its log entry), check that the policy "
        "names the trusted root of the instance that logged it, or sign again.",
    ),
    _code(
        "threshold",
        "fewer distinct trusted keys signed than the stage's threshold",
        "The stage needs more independent signers than it has. Collect signatures from the "
        "missing trusted keys (one key counts once).",
    ),
    _code(
        "chain-broken",
        "a stage's materials differ from the products of the stage it must follow",
        "What the stage consumed is not what the previous stage produced, so something was "
        "swapped in between. Run the stages again from the same inputs, in order.",
    ),
    _code(
        "subject-mismatch",
        "the artifact's digest is not a product of the final stage",
        "The artifact being promoted is not the one the pipeline built and attested. Promote the "
        "artifact the final stage recorded, or rebuild it through the pipeline.",
    ),
    _code(
        "commit-mismatch",
        "the source stage recorded another commit than the one being promoted",
        "The attestations describe another revision than the one being released. Verify the "
        "commit the pipeline ran on, or run the pipeline on this one.",
    ),
    _code(
        "run-mismatch",
        "the required stages' attestations do not belong to one pipeline run (different run ids "
        "or source commits): a replayed or mixed-in attestation",
        "An attestation from another run or commit can be replayed to fill a gap. Produce every "
        "required stage in one run of the pipeline.",
    ),
    _code(
        "stage-failed",
        "a stage's recorded command exited non-zero",
        "The stage ran and failed, and its attestation records that. Fix the failure and run "
        "the stage again.",
    ),
    _code(
        "stale",
        "an attestation is older than the policy's `max_age`",
        "Old evidence may no longer describe the artifact's risks (new advisories, revoked "
        "keys). Run the stage again, or review the policy's `max_age`.",
    ),
    _code(
        "audit-failed",
        "an attested finding is at or above the blocking severity and not excepted",
        "The stage's own audit found something that blocks. Fix the finding, or add a policy "
        "exception with a reason and an expiry, then attest again.",
    ),
    _code(
        "audit-missing",
        "a stage's policy `requires` evidence (e.g. `deps`, `secrets`) that its attestation "
        "does not carry: an audit that did not run is a failed audit",
        "The policy requires an audit whose evidence the attestation lacks. Run the stage with "
        "the audit (`gatekeeper attest --audit`) and the options it needs.",
    ),
    _code(
        "exception-expired",
        "an exception that would have excused a finding has expired",
        "Exceptions expire so that accepted risks are reviewed. Fix the finding, or review the "
        "exception and give it a new `expires`.",
    ),
    _code(
        "malformed",
        "an envelope or statement is not well-formed (wrong payload type, bad base64, bad JSON, "
        "wrong `_type`)",
        "The verifier cannot read what it was given, so it vouches for nothing. Check that the "
        "file is a DSSE envelope with an in-toto Statement v1 made by a supported tool.",
    ),
    _code(
        "limit-exceeded",
        "a cap on what one verify reads was hit: signatures on one envelope, envelopes under "
        "one lookup or per artifact, bytes read from the store, or a registry listing",
        "The store holds far more than a real pipeline writes, which is how a store writer "
        "floods a verifier. Find out who wrote it; prune old attestations or give each "
        "application its own store. The reason names the cap.",
    ),
    _code(
        "vsa-failed",
        "a verification summary records a result other than `PASSED`",
        "The verifier that signed the summary blocked the artifact. Do not deploy it; look up "
        "the reasons of that verification.",
    ),
    _code(
        "vsa-policy-mismatch",
        "a verification summary names another policy than the one given",
        "The artifact was verified under another policy, possibly a weaker one. Verify it again "
        "under the expected policy, or check the summary against that policy's digest.",
    ),
    _code(
        "vsa-verifier-mismatch",
        "a verification summary was made by another verifier than the one expected",
        "Only the expected verifier's summaries count. Verify the artifact with that verifier, "
        "or check which verifier id the deployment should accept.",
    ),
    _code(
        "vsa-level-mismatch",
        "a verification summary's `verifiedLevels` do not meet a level the deployer requires",
        "The verifier did not establish the level asked for (`vsa verify --verified-level`): "
        "the build's provenance, or the build platform, falls short of it. Deploy only "
        "artifacts verified at the required level, or ask why this one was not.",
    ),
    _code(
        "internal-error",
        "anything unexpected — the gate fails closed",
        "Something went wrong inside the verifier, so it blocks rather than guess. Run it again "
        "with the same inputs; report the error if it persists.",
    ),
)


__all__ = ["REASON_CODES"]
