"""Policy evaluation: which attestations bind to the artifact, and every reason to block.

The verifier fails closed. Every error on the way (a policy that does not parse, an
unreadable key, a malformed envelope, an unexpected exception) becomes a reason, and
any reason blocks.

For each artifact the verifier takes the final stage's attestations that name the
artifact among their products, newest first, and for each builds a chain: for every
other stage it picks an attestation from the same pipeline run (run id and source
commit), preferring one that passes its own checks. The first chain with no reason
passes the artifact; otherwise the reasons of the newest chain are reported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from securesystemslib.signer import SSlibKey

from gatekeeper._digest import sha256_file
from gatekeeper._fileio import loads_json_strict
from gatekeeper.attest.bundle import bundle_statement_key
from gatekeeper.attest.dsse import (
    MAX_SIGNATURES,
    SignatureCheck,
    TooManySignatures,
    read_envelope,
)
from gatekeeper.attest.keys import load_public_key
from gatekeeper.attest.signed import is_metablock, open_signed
from gatekeeper.attest.statement import StageRecord, parse_attestation
from gatekeeper.errors import GatekeeperError, InvalidInput, MalformedInput
from gatekeeper.models.decision import PolicyMark
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.models.policy import Policy, StagePolicy, format_duration
from gatekeeper.models.statement import TREE_DIGEST_ALG, Artifact
from gatekeeper.models.verdict import Reason, Verdict
from gatekeeper.policy import judge_attested, load_policy
from gatekeeper.store import (
    RunKey,
    Store,
    StoredEnvelope,
    StoreLimitError,
    open_store,
)
from gatekeeper.verify.attested import findings_to_judge
from gatekeeper.verify.digests import parse_digest
from gatekeeper.verify.evidence import evidence_gap
from gatekeeper.verify.given import GivenFiles
from gatekeeper.verify.policy_signature import KeyFile, policy_signature_problem, read_key_files
from gatekeeper.verify.serial import policy_mark, rollback_reason
from gatekeeper.verify.signatures import IdentityCheck, SignatureJudgement, judge_signatures
from gatekeeper.verify.sigstore import (
    BundleVerifier,
    RootFile,
    read_trusted_roots,
)
from gatekeeper.verify.stages import index_stages, stands_for
from gatekeeper.verify.subjects import (
    FILE_ALGORITHMS,
    ArtifactSubject,
    digest_subject,
    file_subject,
    normal_value,
    subject_matches,
)

CLOCK_SKEW = timedelta(minutes=5)
_MAX_LISTED = 5
# Final-stage attestations tried as the end of a chain, per artifact (newest first). A store
# writer can add re-encoded copies of a valid envelope; each would cost a chain evaluation.
MAX_CHAINS_PER_SUBJECT = 1000
# Attestations of one stage tried to join one chain (each costs a ``follows`` comparison).
MAX_OPTIONS_PER_STAGE = 256


@dataclass(frozen=True)
class VerifyConfig:
    policy_path: Path
    artifacts: list[str] = field(default_factory=list)
    image_digests: list[str] = field(default_factory=list)
    # Artifacts known only by a digest in any in-toto DigestSet algorithm ("sha512:<hex>").
    digests: list[str] = field(default_factory=list)
    store: str | None = None
    policy_key: str | None = None
    commit: str | None = None
    now: datetime | None = None
    insecure_registry: bool = False  # plain HTTP to a loopback oci:// store only
    # --bundle FILE: attestations judged besides the store's (nothing is written)
    bundles: list[str] = field(default_factory=list)


@dataclass
class VerifyTrace:
    """What a verdict rests on (for the decision log and the verification summary)."""

    policy_digest: str | None = None  # "sha256:<hex>" of the policy's exact bytes
    # (name, "alg:value"): sha256 for files, else the digest the artifact was given by
    subjects: list[tuple[str, str]] = field(default_factory=list)
    attestations: list[str] = field(default_factory=list)  # envelope ids of passing chains
    # Subjects ("alg:value") whose passing chain holds provenance of their build: a SLSA
    # provenance, or an attestation that recorded the command producing them.
    built: set[str] = field(default_factory=set)
    # The accepted policy's serial, for the decision log to remember (verify/policy-rollback).
    policy_mark: tuple[str, PolicyMark] | None = None


@dataclass
class Candidate:
    stored: StoredEnvelope
    record: StageRecord | None
    problems: list[Reason]
    unverified: bool = False  # no trusted key signed it: its payload was never parsed
    # "materials" / "products" -> what ``follows`` reads of that side, worked out once: a
    # link is compared while a chain is chosen, and again for its reasons.
    sides: dict[str, _Side] = field(default_factory=dict, repr=False, compare=False)

    def side(self, name: str) -> _Side:
        """The record's ``materials`` or ``products`` (none without a record)."""
        found = self.sides.get(name)
        if found is None:
            record = self.record
            if record is None:
                artifacts: list[Artifact] = []
            else:
                artifacts = record.materials if name == "materials" else record.products
            found = self.sides[name] = _Side(artifacts)
        return found

    @property
    def finished(self) -> datetime:
        if self.record is None or self.record.finished_at is None:
            return datetime.min.replace(tzinfo=UTC)
        return self.record.finished_at

    @property
    def binding(self) -> tuple[str | None, str | None]:
        if self.record is None:
            return (None, None)
        return (self.record.run_id, self.record.source_commit)


def _block(reasons: list[Reason], policy_name: str | None, subjects: list[str]) -> Verdict:
    return Verdict(
        command="verify",
        verdict="block",
        reasons=_dedupe(reasons),
        policy=policy_name,
        subjects=subjects,
    )


def _dedupe(reasons: Iterable[Reason]) -> list[Reason]:
    seen: dict[tuple[str, str | None, str], Reason] = {}
    for reason in reasons:
        seen.setdefault((reason.code, reason.stage, reason.message), reason)
    return list(seen.values())


def artifact_digest(spec: str) -> tuple[str, str]:
    """(display name, "sha256:<hex>") for a file path or a literal ``sha256:<hex>``.

    Raises:
        InvalidInput: neither an existing file nor a sha256 digest.
    """
    if spec.startswith("sha256:"):
        hexpart = spec[len("sha256:") :].lower()
        if len(hexpart) == 64 and all(c in "0123456789abcdef" for c in hexpart):
            return spec, f"sha256:{hexpart}"
        raise InvalidInput(f"{spec}: not a sha256 digest (sha256: and 64 hex digits)")
    path = Path(spec)
    if not path.is_file():
        raise InvalidInput(f"{spec}: no such file (give a file or sha256:<hex>)")
    try:
        return spec, f"sha256:{sha256_file(path)}"
    except OSError as exc:
        raise InvalidInput(f"{spec}: cannot read: {exc.strerror or exc}") from exc


def run_verify(cfg: VerifyConfig, trace: VerifyTrace | None = None) -> Verdict:
    """Evaluate; any unexpected exception becomes verify/internal-error (a block).

    ``trace``, when given, is filled with the policy digest, the subjects and the
    envelopes the verdict rests on.
    """
    try:
        return _run_verify(cfg, trace if trace is not None else VerifyTrace())
    except InvalidInput:
        raise
    except StoreLimitError as exc:
        # A cap against a flooded store or registry: a block with the cap named (exit 1).
        return _block([Reason(code="verify/limit-exceeded", message=exc.diagnostics())], None, [])
    except GatekeeperError as exc:
        return _block([Reason(code="verify/internal-error", message=exc.diagnostics())], None, [])
    except Exception as exc:  # SECURITY: fail closed on anything unexpected
        return _block(
            [
                Reason(
                    code="verify/internal-error", message=f"unexpected {type(exc).__name__}: {exc}"
                )
            ],
            None,
            [],
        )


def _artifact_subject(spec: str) -> ArtifactSubject:
    """An ARTIFACT: a file, or a literal ``sha256:<hex>``. Raises InvalidInput."""
    if spec.startswith("sha256:"):
        name, digest = artifact_digest(spec)
        return ArtifactSubject(name, {"sha256": digest.partition(":")[2]})
    return file_subject(spec)


def _subjects(cfg: VerifyConfig) -> list[ArtifactSubject]:
    """Every artifact to verify. Raises InvalidInput (a usage error)."""
    subjects = [_artifact_subject(a) for a in cfg.artifacts]
    subjects += [_artifact_subject(artifact_digest(d)[1]) for d in cfg.image_digests]
    # --digest: refused first when its algorithm is unknown or broken (md5, sha1)
    subjects += [digest_subject(parse_digest(d)[1]) for d in cfg.digests]
    if not subjects:
        raise InvalidInput("name at least one ARTIFACT, --image-digest or --digest to verify")
    if cfg.commit is not None and not re.fullmatch(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}", cfg.commit):
        # SECURITY: a prefix matches every commit that shares it; only a full id names one.
        raise InvalidInput(
            f"--commit {cfg.commit!r}: give the full commit id (40 hex digits, or 64 for "
            "SHA-256 repositories), not an abbreviation"
        )
    return subjects


def _policy_reasons(
    cfg: VerifyConfig,
    policy: Policy,
    policy_bytes: bytes,
    key_files: dict[str, KeyFile],
    policy_key: SSlibKey | None,
    now: datetime,
    roots: dict[str, RootFile] | None = None,
) -> list[Reason]:
    """The policy's own reasons to block: its signature (when a key is given) and its expiry."""
    reasons: list[Reason] = []
    if policy_key is not None:
        problem = policy_signature_problem(
            cfg.policy_path, policy_bytes, key_files, policy_key, roots
        )
        if problem is not None:
            reasons.append(Reason(code="verify/policy-unsigned", message=problem))
    if policy.expires <= now:
        reasons.append(
            Reason(
                code="verify/policy-expired",
                message=f"policy {policy.name} expired {policy.expires.isoformat()}",
            )
        )
    if not policy.stages:
        reasons.append(
            Reason(
                code="verify/policy-invalid",
                message=f"policy {policy.name} names no stages: there is nothing to verify",
            )
        )
    return reasons


def _policy_keys(
    cfg: VerifyConfig, policy: Policy
) -> tuple[dict[str, KeyFile], dict[str, RootFile], Reason | None]:
    """The policy's key files and trusted roots, read relative to the policy file; one that
    cannot be read blocks."""
    try:
        return (
            read_key_files(cfg.policy_path, policy),
            read_trusted_roots(cfg.policy_path, policy),
            None,
        )
    except InvalidInput as exc:
        return {}, {}, Reason(code="verify/policy-invalid", message=exc.diagnostics())


def _artifact_reasons(
    cfg: VerifyConfig,
    store: Store,
    policy: Policy,
    keys: dict[str, SSlibKey],
    subjects: list[ArtifactSubject],
    now: datetime,
    trace: VerifyTrace,
    bundles: BundleVerifier | None = None,
) -> list[Reason]:
    """Every reason to block each artifact, from the store's attestations of every stage.

    Each artifact is first judged on what names it and its run (``_passes_quickly``); one
    that does not pass so is judged again on every stage's attestations, which gives the
    verdict and every reason exactly as reading the whole store does.
    """
    reads = _Reads()
    pending = [
        subject
        for subject in subjects
        if not _passes_quickly(store, subject, policy, keys, now, cfg.commit, trace, bundles, reads)
    ]
    if not pending:
        return []
    loads = {
        stage.name: _load_candidates(store, stage, policy, keys, now, bundles, reads)
        for stage in policy.stages
    }
    candidates = _Pool(
        {name: load.candidates for name, load in loads.items()},
        final=policy.stages[-1].name,
        unmatched={name: load.unmatched for name, load in loads.items()},
    )
    return [
        reason
        for subject in pending
        for reason in _verify_subject(subject, policy, candidates, cfg.commit, trace)
    ]


# Runs (of the final stage's attestations naming an artifact) whose indexes the quick look
# reads before it leaves the artifact to the full read.
_QUICK_RUNS = 16


def _passes_quickly(
    store: Store,
    artifact: ArtifactSubject,
    policy: Policy,
    keys: dict[str, SSlibKey],
    now: datetime,
    commit: str | None,
    trace: VerifyTrace,
    bundles: BundleVerifier | None,
    reads: _Reads | None = None,
) -> bool:
    """Whether the artifact passes on the attestations filed under its digests and its runs.

    The final stage's attestations naming the artifact come from the store's subject index;
    for the runs of those ``_verify_subject`` tries, every other stage's attestations of
    that run (and those with no run identity) from the run index: the options ``_pick``
    offers each chain, so the same rules run on the same candidates, and a pass here is the
    pass reading every stage gives. An index is unsigned and may miss entries; a miss can
    only fail to pass, and then the caller reads every stage (as it does for any block).
    """
    final = policy.stages[-1]
    try:
        found = [
            stored
            for alg, value in sorted(artifact.digests.items())
            for stored in store.by_subject(f"{alg}:{value}", complete=False)
        ]
        finals = _examine_all(found, final, policy, keys, now, bundles, reads).candidates
        named = _Pool({final.name: finals}, final=final.name).finals_naming(artifact)
        runs = list(dict.fromkeys(c.binding for c in named[:MAX_CHAINS_PER_SUBJECT]))
        if not named or len(runs) > _QUICK_RUNS:
            return False
        by_stage = {final.name: finals}
        for stage in policy.stages[:-1]:
            by_stage[stage.name] = _run_candidates(
                store, stage, runs, policy, keys, now, bundles, reads
            )
    except StoreLimitError:
        return False  # the full read meets the same cap, and names it
    pool = _Pool(by_stage, final=final.name)
    return not _verify_subject(artifact, policy, pool, commit, trace)


def _run_candidates(
    store: Store,
    stage: StagePolicy,
    runs: list[tuple[str | None, str | None]],
    policy: Policy,
    keys: dict[str, SSlibKey],
    now: datetime,
    bundles: BundleVerifier | None,
    reads: _Reads | None = None,
) -> list[Candidate]:
    """The attestations of ``stage`` the store's run index files under ``runs`` and under
    no run identity, examined as ``_load_candidates`` examines a stage's, newest first."""
    found = [
        stored
        for index in index_stages(stage)
        for run_id, source_commit in dict.fromkeys([*runs, _UNBOUND])
        for stored in store.by_run(RunKey(run_id, source_commit), index, complete=False)
    ]
    return _examine_all(found, stage, policy, keys, now, bundles, reads).candidates


def _run_verify(cfg: VerifyConfig, trace: VerifyTrace) -> Verdict:
    now = cfg.now or datetime.now(UTC)
    subjects = _subjects(cfg)
    trace.subjects = [(s.name, s.primary) for s in subjects]
    shown = [s.shown() for s in subjects]
    policy_key = load_public_key(cfg.policy_key) if cfg.policy_key else None
    try:
        policy, policy_bytes = load_policy(cfg.policy_path)
    except InvalidInput as exc:
        return _block(
            [Reason(code="verify/policy-invalid", message=exc.diagnostics())], None, shown
        )
    trace.policy_digest = f"sha256:{hashlib.sha256(policy_bytes).hexdigest()}"
    key_files, roots, problem = _policy_keys(cfg, policy)
    if problem is not None:
        return _block([problem], policy.name, shown)
    reasons = _policy_reasons(cfg, policy, policy_bytes, key_files, policy_key, now, roots)
    if not policy.stages:
        return _block(reasons, policy.name, shown)
    keys = {name: key_file.key for name, key_file in key_files.items()}
    bundles = BundleVerifier(roots, policy.identity_keys())
    store: Store = open_store(cfg.store, insecure=cfg.insecure_registry)
    if cfg.bundles:
        # Read before anything is decided: an unreadable file is a usage error, and one that
        # is not an attestation blocks with its reason.
        from gatekeeper.attest.importer import prepare_files  # imports this package

        try:
            store = GivenFiles(store, prepare_files(cfg.bundles))
        except InvalidInput as exc:
            if not all(Path(b).is_file() for b in cfg.bundles):
                raise
            return _block(
                [Reason(code="verify/malformed", message=exc.diagnostics())], policy.name, shown
            )
    # SECURITY: an older policy put back (its signature still verifies) blocks on its serial.
    rollback = rollback_reason(policy, trace.policy_digest, store.decision_log().marks())
    if rollback is not None:
        reasons.append(rollback)
    if not reasons:  # only an accepted policy raises what the gate remembers
        trace.policy_mark = policy_mark(policy, trace.policy_digest)

    reasons.extend(_artifact_reasons(cfg, store, policy, keys, subjects, now, trace, bundles))
    reasons = _dedupe(reasons)
    return Verdict(
        command="verify",
        verdict="block" if reasons else "pass",
        reasons=reasons,
        policy=policy.name,
        subjects=shown,
    )


@dataclass
class _StageLoad:
    """The candidates of one stage, and the foreign provenance that stands for no stage here."""

    candidates: list[Candidate] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # why, per envelope (for messages)


def _load_candidates(
    store: Store,
    stage: StagePolicy,
    policy: Policy,
    keys: dict[str, SSlibKey],
    now: datetime,
    bundles: BundleVerifier | None = None,
    reads: _Reads | None = None,
) -> _StageLoad:
    found = [stored for index in index_stages(stage) for stored in store.by_stage(index)]
    return _examine_all(found, stage, policy, keys, now, bundles, reads)


def _examine_all(
    found: list[StoredEnvelope],
    stage: StagePolicy,
    policy: Policy,
    keys: dict[str, SSlibKey],
    now: datetime,
    bundles: BundleVerifier | None,
    reads: _Reads | None = None,
) -> _StageLoad:
    """The candidates ``found`` holds for ``stage`` (each item once; Sigstore bundles
    grouped by the statement they sign), newest first."""
    load = _StageLoad()
    seen: set[str] = set()
    statements: dict[str, list[StoredEnvelope]] = {}  # Sigstore bundles, by what they sign
    for stored in found:
        if stored.id in seen:
            continue
        seen.add(stored.id)
        signed = bundle_statement_key(stored.data)
        if signed is not None:
            statements.setdefault(signed, []).append(stored)
            continue
        candidate = _examine(stored, stage, policy, keys, now, load.unmatched, reads)
        if candidate is not None:
            load.candidates.append(candidate)
    verifier = bundles or BundleVerifier({}, {})
    for group in statements.values():
        candidate = _examine_bundles(
            group, stage, policy, keys, now, load.unmatched, verifier, reads
        )
        if candidate is not None:
            load.candidates.append(candidate)
    load.candidates.sort(key=lambda c: (c.finished, c.stored.id), reverse=True)
    return load


def _examine(
    stored: StoredEnvelope,
    stage: StagePolicy,
    policy: Policy,
    keys: dict[str, SSlibKey],
    now: datetime,
    unmatched: list[str],
    reads: _Reads | None = None,
) -> Candidate | None:
    where = stored.id[:12]
    opened = reads.opened.get(stored.id) if reads is not None else None
    if opened is None or opened.data != stored.data:
        read = _open(stored, stage, keys, where)
        if isinstance(read, Candidate):
            return read  # why it cannot be a candidate (not kept: it says so again)
        opened = read
        if reads is not None:
            reads.opened[stored.id] = opened
    judged = judge_signatures(opened.checks, stage, keys, where)
    signed = _Signed(stored, where, opened.payload_type, opened.payload, judged)
    return _candidate(signed, stage, policy, now, unmatched, reads)


@dataclass(frozen=True)
class _Opened:
    """A stored envelope opened, and its signatures checked under the policy's keys."""

    data: bytes  # the stored bytes (a store's id for them is not taken on trust)
    payload_type: str
    payload: bytes
    checks: list[SignatureCheck]


@dataclass
class _Reads:
    """What one verify has read, by content: an attestation listed under several stages or
    subjects (a build's envelope names the artifact the final stage names too) is opened,
    its signatures checked, and its payload parsed once. What fails is not kept (and fails
    again, the same way)."""

    opened: dict[str, _Opened] = field(default_factory=dict)  # by envelope id
    records: dict[tuple[str, bytes], StageRecord] = field(default_factory=dict)


def _open(
    stored: StoredEnvelope, stage: StagePolicy, keys: dict[str, SSlibKey], where: str
) -> _Opened | Candidate:
    """The stored envelope opened and its signatures checked under ``keys``, or the candidate
    that says why it cannot be (malformed, unsigned, too many signatures)."""
    try:
        obj = loads_json_strict(stored.data)
        if not is_metablock(obj):
            read_envelope(obj)  # its form, before anything is decoded
    except (ValueError, MalformedInput) as exc:
        return Candidate(
            stored,
            None,
            [
                Reason(
                    code="verify/malformed",
                    stage=stage.name,
                    message=f"envelope {where} is not a DSSE envelope: {str(exc).splitlines()[0]}",
                )
            ],
        )
    if not obj.get("signatures"):
        # Nothing to verify, so nothing to decode: an unsigned envelope costs no more.
        unsigned = judge_signatures([], stage, keys, where).reason
        return Candidate(stored, None, [unsigned] if unsigned else [], unverified=True)
    try:
        document = open_signed(obj, f"envelope {where}")
        checks = document.check(keys)
    except TooManySignatures as exc:
        limit = Reason(
            code="verify/limit-exceeded", stage=stage.name, message=f"envelope {where}: {exc}"
        )
        return Candidate(stored, None, [limit], unverified=True)
    except MalformedInput as exc:
        return Candidate(
            stored,
            None,
            [Reason(code="verify/malformed", stage=stage.name, message=str(exc))],
        )
    return _Opened(stored.data, document.payload_type, document.payload, checks)


def _examine_bundles(
    group: list[StoredEnvelope],
    stage: StagePolicy,
    policy: Policy,
    keys: dict[str, SSlibKey],
    now: datetime,
    unmatched: list[str],
    bundles: BundleVerifier,
    reads: _Reads | None = None,
) -> Candidate | None:
    """Sigstore bundles over one statement, judged together: each bundle is one signature.

    SECURITY: each bundle is verified under the policy's trusted roots before its payload is
    read; the payload parsed is the one sigstore-python verified, never the store's copy.
    """
    group = sorted(group, key=lambda g: g.id)
    stored, where = group[0], group[0].id[:12]
    if len(group) > MAX_SIGNATURES:
        limit = Reason(
            code="verify/limit-exceeded",
            stage=stage.name,
            message=f"bundle {where}: {len(group)} bundles sign one statement, more than the "
            f"{MAX_SIGNATURES} signatures a verifier reads on one attestation",
        )
        return Candidate(stored, None, [limit], unverified=True)
    prefer = [k.trusted_root for n, k in policy.identity_keys().items() if n in stage.signed_by]
    checks: list[IdentityCheck] = []
    verified: tuple[str, bytes] | None = None
    for index, item in enumerate(group):
        outcome = bundles.check(item.data, prefer)
        signer = outcome.signer
        if not outcome.verified or signer is None or outcome.payload_type is None:
            problem = Reason(
                code=outcome.code or "verify/bad-signature",
                stage=stage.name,
                message=f"bundle {item.id[:12]}: {outcome.problem or 'does not verify'}",
            )
            checks.append(IdentityCheck(index, (), "", "", problem))
            continue
        verified = verified or (outcome.payload_type, outcome.payload or b"")
        why = bundles.why_not([n for n in stage.signed_by if n not in outcome.matched], signer)
        shown = signer.describe() + (f" ({'; '.join(why)})" if why and not outcome.matched else "")
        checks.append(IdentityCheck(index, outcome.matched, signer.id, shown))
    judged = judge_signatures(checks, stage, keys, f"bundle {where}")
    if verified is None:
        return Candidate(stored, None, [judged.reason] if judged.reason else [], unverified=True)
    signed = _Signed(stored, where, verified[0], verified[1], judged)
    return _candidate(signed, stage, policy, now, unmatched, reads)


@dataclass(frozen=True)
class _Signed:
    """An attestation whose signatures were judged, and the payload they cover."""

    stored: StoredEnvelope
    where: str
    payload_type: str
    payload: bytes
    judged: SignatureJudgement


def _parse(signed: _Signed, reads: _Reads | None) -> StageRecord:
    """``parse_attestation`` of the signed payload, once per verify. Raises MalformedInput."""
    key = (signed.payload_type, signed.payload)
    record = reads.records.get(key) if reads is not None else None
    if record is None:
        record = parse_attestation(*key)
        if reads is not None:
            reads.records[key] = record
    return record


def _candidate(
    signed: _Signed,
    stage: StagePolicy,
    policy: Policy,
    now: datetime,
    unmatched: list[str],
    reads: _Reads | None = None,
) -> Candidate | None:
    """The candidate an attestation is for ``stage`` once its signatures were judged."""
    stored, where, judged = signed.stored, signed.where, signed.judged
    judgement = judged.reason
    if signed.payload_type != INTOTO_PAYLOAD_TYPE:
        wrong = Reason(
            code="verify/malformed",
            stage=stage.name,
            message=f"envelope {where}: payload type {signed.payload_type!r} is not "
            f"{INTOTO_PAYLOAD_TYPE}",
        )
        return Candidate(stored, None, [wrong, *([judgement] if judgement else [])])
    if not judged.trusted_keyids and judgement is not None:
        # SECURITY: a payload no trusted key signed is never parsed: anyone who can write the
        # store could otherwise make every verify parse megabytes of crafted JSON.
        return Candidate(stored, None, [judgement], unverified=True)
    try:
        record = _parse(signed, reads)
    except MalformedInput as exc:
        reasons = [
            Reason(code="verify/malformed", stage=stage.name, message=f"envelope {where}: {exc}")
        ]
        if judgement is not None:
            reasons.append(judgement)
        return Candidate(stored, None, reasons)
    mismatch = stands_for(record, stage)
    if mismatch is not None:
        # Filed under this stage (an unsigned index) but signed as something else: not a
        # candidate. A foreign provenance the stage does not accept is named in messages.
        if not record.names_stage:
            unmatched.append(f"{record.kind} {where}: {mismatch}")
        return None
    problems: list[Reason] = [judgement] if judgement is not None else []
    problems.extend(_record_checks(record, stage, policy, now, where))
    return Candidate(stored, record, problems)


@dataclass(frozen=True)
class _Judging:
    """One attestation judged as a candidate for one stage of one policy."""

    record: StageRecord
    stage: StagePolicy
    policy: Policy
    now: datetime
    where: str  # the envelope id, shortened, for messages

    def reason(self, code: str, message: str) -> Reason:
        return Reason(code=code, stage=self.stage.name, message=message)


def _exit_code_reasons(j: _Judging) -> list[Reason]:
    if j.record.exit_code in (None, 0):
        return []
    cmd = " ".join(j.record.command) or "the command"
    return [
        j.reason(
            "verify/stage-failed", f"{cmd} exited with {j.record.exit_code} (attestation {j.where})"
        )
    ]


def _freshness_reasons(j: _Judging) -> list[Reason]:
    max_age, finished = j.policy.max_age, j.record.finished_at
    if max_age is None:
        return []
    if finished is None:
        return [
            j.reason(
                "verify/stale",
                f"attestation {j.where} records no time, so its age "
                f"cannot be checked against max_age",
            )
        ]
    if finished > j.now + CLOCK_SKEW:
        return [
            j.reason(
                "verify/stale",
                f"attestation {j.where} is dated in the future ({finished.isoformat()})",
            )
        ]
    if j.now - finished > max_age:
        return [
            j.reason(
                "verify/stale",
                f"attestation {j.where} is {format_duration(j.now - finished)} old; the policy "
                f"allows {format_duration(max_age)}",
            )
        ]
    return []


def _evidence_reasons(j: _Judging) -> list[Reason]:
    """Every kind the stage ``requires`` is attested, and shows its audits could run."""
    have = set(j.record.audited) | set(j.record.evidence_kinds)
    reasons = []
    for kind in j.stage.requires:
        if kind not in have:
            reasons.append(
                j.reason(
                    "verify/audit-missing",
                    f"the policy requires {kind} evidence, which attestation "
                    f"{j.where} does not carry (run attest with --audit)",
                )
            )
            continue
        gap = evidence_gap(kind, j.record.evidence.get(kind))
        if gap is not None:
            reasons.append(
                j.reason(
                    "verify/audit-missing",
                    f"the policy requires {kind} evidence, and in attestation {j.where} {gap}",
                )
            )
    return reasons


def _findings_reasons(j: _Judging) -> list[Reason]:
    """The attested findings that block under this policy (its exceptions, not the attester's;
    its allowed_registries over the attested container evidence, see ``verify.attested``)."""
    to_judge = findings_to_judge(j.record, j.policy)
    reasons = [
        j.reason("verify/audit-missing", f"in attestation {j.where} {gap}") for gap in to_judge.gaps
    ]
    if not to_judge.findings:
        return reasons
    judged = judge_attested(to_judge.findings, j.policy, j.now)
    for finding in judged.blocking[: _MAX_LISTED * 2]:
        at = f"{finding.path}:{finding.line}" if finding.line else (finding.path or "-")
        expired = finding.fingerprint in judged.expired
        reasons.append(
            j.reason(
                "verify/exception-expired" if expired else "verify/audit-failed",
                f"{finding.severity.value} {finding.rule} at {at}: "
                f"{finding.message}{' (its exception has expired)' if expired else ''}",
            )
        )
    if len(judged.blocking) > _MAX_LISTED * 2:
        reasons.append(
            j.reason(
                "verify/audit-failed",
                f"and {len(judged.blocking) - _MAX_LISTED * 2} more blocking findings",
            )
        )
    return reasons


# The checks every candidate attestation of a stage goes through, in order; each returns its
# reasons to block (as sigstore-python's verification policies and in-toto's verifylib read).
_RECORD_CHECKS: tuple[Callable[[_Judging], list[Reason]], ...] = (
    _exit_code_reasons,
    _freshness_reasons,
    _evidence_reasons,
    _findings_reasons,
)


def _record_checks(
    record: StageRecord, stage: StagePolicy, policy: Policy, now: datetime, where: str
) -> list[Reason]:
    judging = _Judging(record=record, stage=stage, policy=policy, now=now, where=where)
    return [reason for check in _RECORD_CHECKS for reason in check(judging)]


class _Pool:
    """The candidates of every stage, indexed once per verify (by subject and by run).

    Lists keep the newest-first order of ``_load_candidates``.
    """

    def __init__(
        self,
        by_stage: dict[str, list[Candidate]],
        final: str,
        unmatched: dict[str, list[str]] | None = None,
    ) -> None:
        self.by_stage = by_stage
        self.unmatched = unmatched or {}
        self.parsed = {
            name: [c for c in cands if c.record is not None] for name, cands in by_stage.items()
        }
        self.by_binding: dict[str, dict[tuple[str | None, str | None], list[Candidate]]] = {}
        for name, cands in self.parsed.items():
            groups = self.by_binding.setdefault(name, {})
            for cand in cands:
                groups.setdefault(cand.binding, []).append(cand)
        # "alg:value" (hex in lower case) -> the final-stage candidates with such a subject
        self.finals_by_digest: dict[str, list[Candidate]] = {}
        self.final_algorithms: set[str] = set()
        for cand in self.parsed.get(final, []):
            keys = {
                f"{alg}:{normal_value(value)}"
                for _name, digest in (cand.record.subjects if cand.record else [])
                for alg, value in digest.items()
            }
            for key in sorted(keys):
                self.finals_by_digest.setdefault(key, []).append(cand)
                self.final_algorithms.add(key.partition(":")[0])

    def finals_naming(self, artifact: ArtifactSubject) -> list[Candidate]:
        """The final-stage candidates with a subject naming ``artifact``, newest first.

        A file is hashed with another algorithm only when no candidate names its sha256 and
        some candidate records that algorithm (npm's sha512, say).
        """
        found = self._naming(artifact)
        if artifact.path is None:
            return found
        if not found:
            artifact.add_file_digests(self.final_algorithms)
            return self._naming(artifact)
        # A subject that names the file by sha256 and records another algorithm too must agree
        # on that one as well: hash the file with it and match again.
        recorded = {
            alg
            for cand in found
            for _name, digest in (cand.record.subjects if cand.record else [])
            if subject_matches(digest, artifact)
            for alg in digest
            if alg in FILE_ALGORITHMS and alg not in artifact.digests
        }
        if recorded:
            artifact.add_file_digests(recorded)
            found = self._naming(artifact)
        return found

    def _naming(self, artifact: ArtifactSubject) -> list[Candidate]:
        seen: dict[str, Candidate] = {}
        for alg, value in artifact.digests.items():
            for cand in self.finals_by_digest.get(f"{alg}:{value}", []):
                if cand.record is not None and any(
                    subject_matches(digest, artifact) for _name, digest in cand.record.subjects
                ):
                    seen.setdefault(cand.stored.id, cand)
        return sorted(seen.values(), key=lambda c: (c.finished, c.stored.id), reverse=True)

    def __getitem__(self, stage: str) -> list[Candidate]:
        return self.by_stage[stage]


def _verify_subject(
    artifact: ArtifactSubject,
    policy: Policy,
    candidates: _Pool,
    commit: str | None,
    trace: VerifyTrace | None = None,
) -> list[Reason]:
    final = policy.stages[-1]
    finals = candidates[final.name]
    digest = artifact.primary
    matching = candidates.finals_naming(artifact)
    if not matching:
        # No chain can be followed back from the final stage, so the stages the store has no
        # attestation of at all are named now rather than one per run.
        absent = [
            _missing(s.name, candidates) for s in policy.stages[:-1] if not candidates[s.name]
        ]
        if not finals:
            return [*absent, _missing(final.name, candidates)]  # in the policy's order
        broken = [r for c in finals if c.record is None for r in c.problems]
        if all(c.unverified for c in finals):
            # No trusted key signed any of them, so none was parsed and whether they name the
            # artifact is unknown; their own reasons say why they do not count.
            return [*broken, *absent]
        mismatch = Reason(
            code="verify/subject-mismatch",
            stage=final.name,
            message=f"{_digests_text(artifact)} is not a product of any {final.name} attestation "
            f"({len(finals)} found): this is not the artifact that was attested",
        )
        return [mismatch, *broken, *absent]
    best: list[Reason] | None = None
    for candidate in matching[:MAX_CHAINS_PER_SUBJECT]:
        chosen, reasons = _verify_chain(candidate, policy, candidates, commit)
        if not reasons:
            if trace is not None:
                trace.attestations.extend(sorted(c.stored.id for c in chosen.values()))
                if any(_builds(c.record, artifact) for c in chosen.values()):
                    trace.built.add(artifact.primary)
            return []
        if best is None:
            best = reasons
    if len(matching) > MAX_CHAINS_PER_SUBJECT:
        return [
            *(best or []),
            Reason(
                code="verify/limit-exceeded",
                stage=final.name,
                message=f"{digest}: {len(matching)} {final.name} attestations name it; the "
                f"newest {MAX_CHAINS_PER_SUBJECT} were tried and none passes (a cap against "
                "a flooded store)",
            ),
        ]
    return best or []


def _digests_text(artifact: ArtifactSubject) -> str:
    """The artifact's digest, and the others it was hashed with to find it."""
    others = [f"{alg}:{artifact.digests[alg]}" for alg in artifact.computed]
    return artifact.primary + (f" (nor {', '.join(others)})" if others else "")


def _missing(stage: str, candidates: _Pool) -> Reason:
    """No attestation of ``stage``; naming foreign provenance that stands for no stage here."""
    unmatched = candidates.unmatched.get(stage, [])
    extra = ""
    if unmatched:
        shown = "; ".join(unmatched[:_MAX_LISTED])
        more = f" and {len(unmatched) - _MAX_LISTED} more" if len(unmatched) > _MAX_LISTED else ""
        extra = (
            f" (found, but not accepted as stage {stage} by the policy's `provenance:` "
            f"matcher: {shown}{more})"
        )
    return Reason(
        code="verify/missing-stage",
        stage=stage,
        message=f"no attestation of stage {stage} in the store{extra}",
    )


def _unavailable(stage: StagePolicy, candidates: _Pool) -> list[Reason]:
    """Why no attestation of ``stage`` can be picked: none stored, or none that parses."""
    if not candidates[stage.name]:
        return [_missing(stage.name, candidates)]
    return [p for c in candidates[stage.name] for p in c.problems]


_UNBOUND: tuple[str | None, str | None] = (None, None)


def _options(
    stage: StagePolicy, binding: tuple[str | None, str | None], candidates: _Pool
) -> list[Candidate]:
    """The attestations of ``stage`` that may join a chain ending in a final of ``binding``.

    Preferred first: those of the final stage's own run, then those with no run identity
    (imported in-toto links), which bind only by content (``follows``). For a final with no
    run identity, the unbound ones come first; a run-bound one there is a run mismatch.
    """
    groups = candidates.by_binding[stage.name]
    if binding != _UNBOUND:
        return [*groups.get(binding, []), *groups.get(_UNBOUND, [])]
    pool = candidates.parsed[stage.name]
    return [*groups.get(_UNBOUND, []), *(c for c in pool if c.binding != _UNBOUND)]


def _fits(
    option: Candidate,
    stage: StagePolicy,
    binding: tuple[str | None, str | None],
    policy: Policy,
    chosen: dict[str, Candidate],
) -> bool:
    """Whether ``option`` joins the chain chosen so far (the later stages) with no reason."""
    if option.problems:
        return False
    if option.binding == _UNBOUND and not _linked(policy, stage.name):
        return False
    if binding == _UNBOUND and option.binding != _UNBOUND:
        return False
    return not any(
        _follows(later, chosen[later.name], option)
        for later in policy.stages
        if later.follows == stage.name and later.name in chosen
    )


def _pick(
    stage: StagePolicy,
    binding: tuple[str | None, str | None],
    candidates: _Pool,
    policy: Policy,
    chosen: dict[str, Candidate],
) -> tuple[Candidate | None, list[Reason]]:
    """The attestation of ``stage`` for the chain chosen so far, and its reasons (or why none).

    Every candidate is tried, in the order of ``_options``: the first that joins the chain
    with no reason is taken; otherwise the preferred one, whose reasons are reported.
    """
    pool = candidates.parsed[stage.name]
    if not pool:
        return None, _unavailable(stage, candidates)
    options = _options(stage, binding, candidates)
    if not options:
        found = sorted({_binding_text(c.binding) for c in pool})
        return None, [
            Reason(
                code="verify/run-mismatch",
                stage=stage.name,
                message=f"no {stage.name} attestation from the final stage's run "
                f"({_binding_text(binding)}); found {', '.join(found[:_MAX_LISTED])}: "
                "an attestation from another run must not be mixed into this release",
            )
        ]
    for option in options[:MAX_OPTIONS_PER_STAGE]:
        if _fits(option, stage, binding, policy, chosen):
            return option, []
    clean = [c for c in options if not c.problems]
    pick = clean[0] if clean else options[0]
    problems = list(pick.problems)
    if len(options) > MAX_OPTIONS_PER_STAGE:
        problems.append(
            Reason(
                code="verify/limit-exceeded",
                stage=stage.name,
                message=f"{len(options)} {stage.name} attestations could join this chain; the "
                f"first {MAX_OPTIONS_PER_STAGE} were tried and none fits (a cap against a "
                "flooded store)",
            )
        )
    return pick, problems


_COMMIT_SOURCES = "--commit, or GATEKEEPER_COMMIT, GITHUB_SHA, GIT_COMMIT or CI_COMMIT_SHA"


def _commit_reasons(
    chosen: dict[str, Candidate], commit: str | None, policy: Policy
) -> list[Reason]:
    """Every chosen stage recorded the commit being promoted.

    gatekeeper's own attestations always record their commit, so one without it blocks. A
    foreign attestation (an in-toto link, a witness collection, a SLSA provenance) is held to
    the commit it records itself: a different one blocks; one that records none is not a
    mismatch, unless its stage's matcher says ``must_match_commit``, which also blocks when no
    commit is being verified.
    """
    reasons = []
    for name, cand in chosen.items():
        record = cand.record
        if record is None:
            continue
        recorded = record.recorded_commit
        matcher = policy.stage(name).provenance
        required = (
            record.kind == "slsa-provenance" and matcher is not None and matcher.must_match_commit
        )
        message = None
        if commit is None:
            if required:
                message = (
                    f"the policy requires stage {name}'s provenance to match the commit being "
                    f"verified, and no commit was given ({_COMMIT_SOURCES})"
                )
        elif recorded is None:
            if record.kind == "gatekeeper":
                message = f"stage {name} records no source commit; {commit[:12]} is being promoted"
            elif required:
                message = (
                    f"stage {name}'s {record.kind} records no source commit, and the policy "
                    f"requires it to match {commit[:12]}"
                )
        elif recorded.lower() != commit.lower():
            message = (
                f"stage {name} recorded commit {recorded[:12]}, but {commit[:12]} is being promoted"
            )
        if message is not None:
            reasons.append(Reason(code="verify/commit-mismatch", stage=name, message=message))
    return reasons


def _verify_chain(
    final: Candidate,
    policy: Policy,
    candidates: _Pool,
    commit: str | None,
) -> tuple[dict[str, Candidate], list[Reason]]:
    """The chain ending in ``final``, and every reason it fails: its stages, their links,
    the commit."""
    chosen, reasons = _choose(final, policy, candidates)
    reasons.extend(_link_reasons(policy, chosen, bound=final.binding != (None, None)))
    reasons.extend(_commit_reasons(chosen, commit, policy))
    return chosen, reasons


def _builds(record: StageRecord | None, artifact: ArtifactSubject) -> bool:
    """Whether ``record`` is provenance of the artifact's build: a SLSA provenance naming it,
    or an attestation that recorded a command and lists the artifact among its products."""
    if record is None:
        return False
    if record.kind == "slsa-provenance":
        return any(subject_matches(digest, artifact) for _name, digest in record.subjects)
    return bool(record.command) and any(
        subject_matches(dict(product.digest), artifact) for product in record.products
    )


def _choose(
    final: Candidate, policy: Policy, candidates: _Pool
) -> tuple[dict[str, Candidate], list[Reason]]:
    """An attestation for each stage, chosen from the last stage back so that each can be
    checked against the ``follows`` links of the stages after it; and their reasons."""
    chosen: dict[str, Candidate] = {policy.stages[-1].name: final}
    problems: dict[str, list[Reason]] = {}
    for stage in reversed(policy.stages[:-1]):
        pick, problems[stage.name] = _pick(stage, final.binding, candidates, policy, chosen)
        if pick is not None:
            chosen[stage.name] = pick
    reasons = list(final.problems)
    for stage in policy.stages[:-1]:
        reasons.extend(problems[stage.name])
    return chosen, reasons


def _link_reasons(policy: Policy, chosen: dict[str, Candidate], *, bound: bool) -> list[Reason]:
    """Unbound stages must be joined by ``follows``; each ``follows`` link must hold."""
    reasons = _unbound_reasons(policy, chosen, bound=bound)
    for stage in policy.stages:
        if stage.follows and stage.name in chosen and stage.follows in chosen:
            reasons.extend(_follows(stage, chosen[stage.name], chosen[stage.follows]))
    return reasons


def _linked(policy: Policy, name: str) -> bool:
    """Whether a ``follows`` link joins stage ``name`` to another stage."""
    return any(s.follows is not None and name in (s.name, s.follows) for s in policy.stages)


def _binding_text(binding: tuple[str | None, str | None]) -> str:
    run_id, commit = binding
    if run_id is None and commit is None:
        return "no run identity"
    parts = []
    if run_id is not None:
        parts.append(f"run {run_id}")
    if commit is not None:
        parts.append(f"commit {commit[:12]}")
    return " ".join(parts)


def _unbound_reasons(policy: Policy, chosen: dict[str, Candidate], *, bound: bool) -> list[Reason]:
    """Attestations with no run identity (e.g. imported in-toto links) bind only by content.

    Each must be joined to the chain by a ``follows`` link; otherwise a stale attestation
    could be mixed in. Under a final with no run identity, a run-bound stage is a mismatch.
    """
    if len(chosen) <= 1:
        return []
    out = []
    for name, cand in chosen.items():
        if cand.binding != _UNBOUND:
            if bound:
                continue  # the final's own run (the only run-bound options offered)
            out.append(
                Reason(
                    code="verify/run-mismatch",
                    stage=name,
                    message=f"stage {name} is from {_binding_text(cand.binding)} but the "
                    "final stage carries no run identity",
                )
            )
        elif not _linked(policy, name):
            out.append(
                Reason(
                    code="verify/run-mismatch",
                    stage=name,
                    message=f"stage {name} carries no run identity and no follows link "
                    "binds it to the other stages",
                )
            )
    return out


_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")


def _normal(digest: dict[str, str]) -> dict[str, str]:
    """A digest set with hex values in lower case (hex case carries no meaning)."""
    return {
        alg: value.lower() if _HEX_DIGITS.fullmatch(value) else value
        for alg, value in digest.items()
    }


def _legacy_dirs(artifacts: list[Artifact]) -> list[str]:
    """Directory digests in the ambiguous version-1 encoding (no ``TREE_DIGEST_ALG``)."""
    return [a.name for a in artifacts if a.kind == "dir" and TREE_DIGEST_ALG not in a.digest]


_Collapsed = tuple[dict[str, dict[str, str]], list[str]]


class _Side:
    """One side of a ``follows`` link (a record's materials or products), read once."""

    def __init__(self, artifacts: list[Artifact]) -> None:
        self.artifacts = artifacts
        self.dirs = [a for a in artifacts if a.kind == "dir"]  # directory digests
        self._recorded: dict[str, dict[str, str]] | None = None
        self._collapsed: dict[tuple[str, ...], _Collapsed] = {}

    def recorded(self) -> dict[str, dict[str, str]]:
        """Digest sets by name, as recorded (a repeated name keeps its last)."""
        if self._recorded is None:
            self._recorded = {a.name: a.digest for a in self.artifacts}
        return self._recorded

    def collapse(self, prefixes: tuple[str, ...]) -> _Collapsed:
        """``_collapse`` of the artifacts, once per set of prefixes."""
        found = self._collapsed.get(prefixes)
        if found is None:
            found = self._collapsed[prefixes] = _collapse(self.artifacts, list(prefixes))
        return found


def _collapse(artifacts: list[Artifact], prefixes: list[str]) -> _Collapsed:
    """(name -> digest set, problems), files under a directory-digest prefix folded into it.

    ``prefixes`` are the directory digests of both sides of the link, longest first.
    """
    if not prefixes:
        # No directory digest on either side: every entry stands for itself (a repeated
        # name keeps its last digest set, as below).
        return {art.name: _normal(art.digest) for art in artifacts}, []
    out: dict[str, dict[str, str]] = {}
    grouped: dict[str, list[Artifact]] = {p: [] for p in prefixes}
    problems: list[str] = []
    for art in artifacts:
        if art.kind == "dir":
            out[art.name] = _normal(art.digest)
            continue
        prefix = next((p for p in prefixes if art.name.startswith(p)), None)
        if prefix is None:
            out[art.name] = _normal(art.digest)
        else:
            grouped[prefix].append(art)
    # Imported here: materials (and the collectors it uses) cost every verify ~40 ms.
    from gatekeeper.attest.materials import dir_artifact

    for prefix, members in grouped.items():
        if members and prefix not in out:
            try:
                out[prefix] = dir_artifact(prefix.rstrip("/"), members).digest
            except ValueError as exc:
                problems.append(f"cannot compare with the directory digest of {prefix}: {exc}")
    return out, problems


def _digest_difference(mine: dict[str, str], theirs: dict[str, str]) -> str | None:
    """How two digest sets of one name differ: every algorithm both carry must agree."""
    shared = sorted(set(mine) & set(theirs))
    if not shared:
        return (
            f"no digest algorithm in common ({', '.join(sorted(mine))} vs "
            f"{', '.join(sorted(theirs))})"
        )
    if any(mine[alg] != theirs[alg] for alg in shared):
        return "changed"
    return None


def _differences(
    mats: dict[str, dict[str, str]], prods: dict[str, dict[str, str]], follows: str
) -> list[str]:
    """How a stage's materials differ from the products of the stage it follows.

    A name whose two digest sets are equal (and not empty) agrees on every algorithm: only
    the others are compared one by one.
    """
    if mats == prods and all(mats.values()):
        return []
    missing = sorted(prods.keys() - mats.keys())
    extra = sorted(mats.keys() - prods.keys())
    changed: list[str] = []
    incomparable: list[str] = []
    differing = (n for n in mats.keys() & prods.keys() if not mats[n] or mats[n] != prods[n])
    for name in sorted(differing):
        difference = _digest_difference(mats[name], prods[name])
        if difference == "changed":
            changed.append(name)
        elif difference is not None:
            incomparable.append(f"{name}: {difference}")
    parts = []
    if changed:
        parts.append(f"changed since {follows}: {', '.join(changed[:_MAX_LISTED])}")
    if incomparable:
        parts.append(f"not comparable with {follows}: {'; '.join(incomparable[:_MAX_LISTED])}")
    if extra:
        parts.append(f"not produced by {follows}: {', '.join(extra[:_MAX_LISTED])}")
    if missing:
        parts.append(f"produced by {follows} but not used: {', '.join(missing[:_MAX_LISTED])}")
    return parts


def _follows(stage: StagePolicy, cand: Candidate, before: Candidate) -> list[Reason]:
    if cand.record is None or before.record is None or stage.follows is None:
        return []
    materials, products = cand.side("materials"), before.side("products")
    dirs = [*materials.dirs, *products.dirs]
    legacy = [f"{n} (materials of {stage.name})" for n in _legacy_dirs(materials.dirs)]
    legacy += [f"{n} (products of {stage.follows})" for n in _legacy_dirs(products.dirs)]
    if legacy:
        return [
            Reason(
                code="verify/chain-broken",
                stage=stage.name,
                message=f"directory digest of {', '.join(legacy[:_MAX_LISTED])} uses the "
                "version-1 encoding, in which a file name can imitate other entries; attest "
                "the stage again with this version of gatekeeper",
            )
        ]
    if not dirs:
        # Digest sets equal as recorded are equal in any hex case too: with no directory
        # digest to fold files into, nothing differs (as ``_differences`` would find).
        recorded = materials.recorded()
        if recorded == products.recorded() and all(recorded.values()):
            return []
    # Equal lengths never both prefix one name, so their order does not matter.
    prefixes = tuple(sorted({a.name for a in dirs}, key=len, reverse=True))
    mats, mat_problems = materials.collapse(prefixes)
    prods, prod_problems = products.collapse(prefixes)
    parts = [*mat_problems, *prod_problems, *_differences(mats, prods, stage.follows)]
    if not parts:
        return []
    return [
        Reason(
            code="verify/chain-broken",
            stage=stage.name,
            message=f"materials of {stage.name} differ from the products of "
            f"{stage.follows} ({'; '.join(parts)})",
        )
    ]
