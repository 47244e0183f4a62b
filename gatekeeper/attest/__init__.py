"""Attestations: keys, DSSE envelopes, in-toto statements and the `attest` pipeline.

Usage::

    from gatekeeper.attest.keys import load_signer, load_public_key
    from gatekeeper.attest.dsse import sign_envelope, verify_envelope_signatures
"""
