"""The verifier: a policy and a store in, a Verdict with every reason out.

Usage::

    from gatekeeper.verify.evaluate import VerifyConfig, run_verify
    verdict = run_verify(VerifyConfig(policy_path=Path("policies/release.yaml"),
                                      artifacts=["dist/app-1.0.tar.gz"]))
"""
