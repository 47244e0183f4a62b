"""Every attestation of a stage is tried to join the chain (not one per stage, picked by file
name); one from the final stage's run is preferred, and in-toto links (no run identity) join
only through `follows`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gatekeeper.attest.dsse import sign_envelope
from gatekeeper.attest.keys import load_signer
from gatekeeper.models.envelope import INTOTO_PAYLOAD_TYPE
from gatekeeper.verify import VerifyConfig, VerifyTrace, run_verify
from tests.harness import Pipeline, codes


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _link(
    pipeline: Pipeline, name: str, materials: dict[str, str], products: dict[str, str]
) -> str:
    """An in-toto link (as in-toto-run --use-dsse writes it), signed by ci; its envelope id."""
    link = {
        "_type": "link",
        "name": name,
        "materials": {n: {"sha256": h} for n, h in materials.items()},
        "products": {n: {"sha256": h} for n, h in products.items()},
        "byproducts": {"return-value": 0},
        "command": [],
        "environment": {},
    }
    envelope = sign_envelope(
        json.dumps(link).encode(), INTOTO_PAYLOAD_TYPE, [load_signer(pipeline.key("ci"))]
    )
    first = next(iter(products.values()))
    return pipeline.store_envelope(envelope, name, first)


def _policy(pipeline: Pipeline, follows: bool = True) -> None:
    data = pipeline.policy_dict()
    data.pop("max_age")
    data["stages"] = [
        {"name": "source", "signed_by": ["ci"]},
        {"name": "build", "signed_by": ["ci"], **({"follows": "source"} if follows else {})},
    ]
    pipeline.write_policy(data)


def _trace_verify(pipeline: Pipeline, artifact: Path) -> tuple[Any, VerifyTrace]:
    trace = VerifyTrace()
    verdict = run_verify(
        VerifyConfig(
            policy_path=pipeline.policy_path, artifacts=[str(artifact)], store=str(pipeline.store)
        ),
        trace,
    )
    return verdict, trace


def test_every_link_candidate_is_tried(pipeline: Pipeline) -> None:
    _policy(pipeline)
    app = pipeline.repo_path / "src" / "app.py"
    genuine = _link(pipeline, "source", {}, {"src/app.py": _sha(app)})
    # Another run's source link, signed by the same key, whose envelope id sorts first.
    decoys: list[str] = []
    while not decoys or max(decoys) < genuine:
        version = hashlib.sha256(f"v{len(decoys)}".encode()).hexdigest()
        decoys.append(_link(pipeline, "source", {}, {"src/app.py": version}))
    artifact = pipeline.build_artifact()
    _link(pipeline, "build", {"src/app.py": _sha(app)}, {"dist/app-1.0.tar.gz": _sha(artifact)})
    verdict, trace = _trace_verify(pipeline, artifact)
    assert verdict.allowed, verdict.reasons
    assert genuine in trace.attestations


def test_a_link_joins_a_run_bound_chain_through_follows(pipeline: Pipeline) -> None:
    _policy(pipeline)
    app = pipeline.repo_path / "src" / "app.py"
    link = _link(pipeline, "source", {}, {"src/app.py": _sha(app)})
    artifact = pipeline.build_artifact()
    pipeline.attest("build", run_id="run-9", materials=["src/app.py"], products=["dist/*"])
    verdict, trace = _trace_verify(pipeline, artifact)
    assert verdict.allowed, verdict.reasons
    assert link in trace.attestations
    # Without a follows link nothing binds the link to this run: a run mismatch.
    _policy(pipeline, follows=False)
    verdict, _ = _trace_verify(pipeline, artifact)
    assert codes(verdict) == {"verify/run-mismatch"}


def test_a_link_that_does_not_chain_is_not_taken(pipeline: Pipeline) -> None:
    _policy(pipeline)
    _link(pipeline, "source", {}, {"src/app.py": hashlib.sha256(b"other").hexdigest()})
    artifact = pipeline.build_artifact()
    pipeline.attest("build", run_id="run-9", materials=["src/app.py"], products=["dist/*"])
    verdict, _ = _trace_verify(pipeline, artifact)
    assert codes(verdict) == {"verify/chain-broken"}


def test_the_run_bound_attestation_is_preferred(pipeline: Pipeline) -> None:
    _policy(pipeline)
    app = pipeline.repo_path / "src" / "app.py"
    link = _link(pipeline, "source", {}, {"src/app.py": _sha(app)})
    own = pipeline.attest("source", run_id="run-9", products=["src/app.py"]).envelope_id
    artifact = pipeline.build_artifact()
    pipeline.attest("build", run_id="run-9", materials=["src/app.py"], products=["dist/*"])
    verdict, trace = _trace_verify(pipeline, artifact)
    assert verdict.allowed
    assert own in trace.attestations and link not in trace.attestations
