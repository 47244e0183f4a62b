"""GitHub: the pull-request event, the REST API client, and ``gatekeeper pr-check``.

Usage::

    from gatekeeper.github.prcheck import PrCheckConfig, run_pr_check
    result = run_pr_check(PrCheckConfig(repo=Path("."), policy=policy, environ=os.environ))
"""

from __future__ import annotations
