"""Pydantic models: every on-disk and wire format gatekeeper reads or writes.

One module per format; the package exports the root model of each (the evidence of every
kind, findings, the verdict, the policy, statements and envelopes) and the base classes::

    from gatekeeper.models import Policy, Verdict
    from gatekeeper.models.pipeline import Workflow   # every other model: from its module

Models hold data and validate it; nothing here renders, collects or decides. The names
below are imported from their modules on first use, so importing one model module does not
load every format.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekeeper.models.base import GatekeeperModel, OpenModel
    from gatekeeper.models.baseline import Baseline
    from gatekeeper.models.container import ContainerEvidence
    from gatekeeper.models.deps import DepsEvidence
    from gatekeeper.models.envelope import Envelope
    from gatekeeper.models.finding import Finding, Severity
    from gatekeeper.models.osv import OsvRecord
    from gatekeeper.models.pipeline import PipelineEvidence
    from gatekeeper.models.policy import Policy
    from gatekeeper.models.secrets import SecretsEvidence
    from gatekeeper.models.source import SourceEvidence
    from gatekeeper.models.statement import CIEnvironment, Statement
    from gatekeeper.models.verdict import Reason, Verdict

# public name -> the module that defines it
_EXPORTS = {
    "Baseline": "baseline",
    "CIEnvironment": "statement",
    "ContainerEvidence": "container",
    "DepsEvidence": "deps",
    "Envelope": "envelope",
    "Finding": "finding",
    "GatekeeperModel": "base",
    "OpenModel": "base",
    "OsvRecord": "osv",
    "PipelineEvidence": "pipeline",
    "Policy": "policy",
    "Reason": "verdict",
    "SecretsEvidence": "secrets",
    "Severity": "finding",
    "SourceEvidence": "source",
    "Statement": "statement",
    "Verdict": "verdict",
}

__all__ = [
    "Baseline",
    "CIEnvironment",
    "ContainerEvidence",
    "DepsEvidence",
    "Envelope",
    "Finding",
    "GatekeeperModel",
    "OpenModel",
    "OsvRecord",
    "PipelineEvidence",
    "Policy",
    "Reason",
    "SecretsEvidence",
    "Severity",
    "SourceEvidence",
    "Statement",
    "Verdict",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
