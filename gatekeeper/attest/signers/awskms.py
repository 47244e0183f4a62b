"""Keys in AWS KMS: ``awskms:KEY`` (a key id, key ARN, ``alias/NAME`` or alias ARN).

boto3 finds credentials, region and endpoint the standard way (``AWS_ACCESS_KEY_ID`` /
``AWS_PROFILE`` / an instance role, ``AWS_REGION``, ``AWS_ENDPOINT_URL_KMS``). Before
anything runs, the key is described (it must be enabled and a signing key) and its public
key fetched; the payload is hashed locally and KMS signs the digest (securesystemslib's
``AWSSigner``). The key needs ``kms:DescribeKey``, ``kms:GetPublicKey`` and ``kms:Sign``.

The signature scheme follows from the public key, as for a PEM file: ECDSA keys sign with
their curve's hash (P-256: ``ECDSA_SHA_256``), RSA keys (3072 bits or more) with
``RSASSA_PSS_SHA_256``.
"""

from __future__ import annotations

import re
from typing import Any

from securesystemslib.signer import AWSSigner, Signer, SSlibKey

from gatekeeper._sdk_imports import enable
from gatekeeper.attest.signers.base import (
    GeneratedKey,
    GuardedSigner,
    KeyRef,
    LoadedSigner,
    public_key_from_crypto,
    refuse_secret,
    require_sdk,
)
from gatekeeper.errors import InvalidInput, SigningError

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:/_.+=@-]{0,2047}$")
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 30


def _key_id(ref: KeyRef) -> str:
    key_id = ref.rest
    if not _KEY.match(key_id):
        raise InvalidInput(
            f"{ref.uri}: not an AWS KMS key URI (awskms:KEY-ID, awskms:arn:aws:kms:..., "
            "awskms:alias/NAME)"
        )
    return key_id


def _explain(exc: Exception) -> str:
    """What went wrong talking to AWS KMS, in one line."""
    from botocore import exceptions as bce

    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "error")
        message = error.get("Message", "")
        operation = exc.operation_name
        if code in ("AccessDeniedException", "AccessDenied"):
            return f"access denied by AWS KMS ({operation}): {message}"
        return f"AWS KMS refused {operation}: {code}: {message}"
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return (
            "no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or run with a role)"
        )
    if isinstance(exc, bce.NoRegionError):
        return "no AWS region (set AWS_REGION)"
    if isinstance(exc, bce.EndpointConnectionError | bce.ConnectTimeoutError):
        return f"cannot reach AWS KMS: {exc}"
    if isinstance(exc, bce.BotoCoreError):
        return str(exc)
    return type(exc).__name__


def _call(uri: str, fn: Any, **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(**kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise SigningError(f"{uri}: {_explain(exc)}") from exc


def _client(uri: str) -> Any:
    boto3 = require_sdk("boto3", "awskms", "aws")
    from botocore.config import Config

    config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)
    # NOTE: a session of its own, so credentials and endpoint come from the environment now
    # (boto3's default session caches what it found first).
    session = _call(uri, boto3.session.Session)
    return _call(uri, session.client, service_name="kms", config=config)


class AwsKmsBackend:
    """``awskms:``: a key that never leaves AWS KMS."""

    def _fetch(self, ref: KeyRef) -> tuple[Any, str, SSlibKey]:
        refuse_secret(ref, "an AWS KMS key is reached with AWS credentials")
        key_id = _key_id(ref)
        client = _client(ref.uri)
        meta = _call(ref.uri, client.describe_key, KeyId=key_id).get("KeyMetadata", {})
        state = meta.get("KeyState")
        if state != "Enabled":
            raise SigningError(f"{ref.uri}: the key is {state or 'not usable'} in AWS KMS")
        if meta.get("KeyUsage") != "SIGN_VERIFY":
            raise InvalidInput(
                f"{ref.uri}: the key's usage is {meta.get('KeyUsage')}, not SIGN_VERIFY"
            )
        answer = _call(ref.uri, client.get_public_key, KeyId=key_id)
        from cryptography.hazmat.primitives.serialization import load_der_public_key

        try:
            crypto_key = load_der_public_key(answer["PublicKey"])
        except (KeyError, ValueError) as exc:
            raise SigningError(f"{ref.uri}: AWS KMS returned no usable public key") from exc
        public = public_key_from_crypto(crypto_key, ref.uri)
        algorithm = AWSSigner.aws_algos.get(public.scheme)
        if algorithm not in answer.get("SigningAlgorithms", []):
            raise InvalidInput(
                f"{ref.uri}: the key does not offer {algorithm or public.scheme}, the scheme "
                f"its public key calls for (it offers "
                f"{', '.join(answer.get('SigningAlgorithms', [])) or 'none'})"
            )
        return client, key_id, public

    def load(self, ref: KeyRef) -> LoadedSigner:
        client, key_id, public = self._fetch(ref)
        enable("securesystemslib.signer._aws_signer")
        try:
            inner = Signer.from_priv_key_uri(f"awskms:{key_id}", public)
        except Exception as exc:  # boto3 raises its own types while building a client
            raise SigningError(f"{ref.uri}: {_explain(exc)}") from exc
        # NOTE: securesystemslib builds a client without timeouts; use the one checked above.
        inner.client = client  # type: ignore[attr-defined]
        signer = GuardedSigner(inner, public, ref.uri, _explain)
        return LoadedSigner(signer=signer, public_key=public, source=ref.uri)

    def public_key(self, ref: KeyRef) -> SSlibKey:
        return self._fetch(ref)[2]

    def generate(self, ref: KeyRef, key_type: str | None, force: bool) -> GeneratedKey:
        raise InvalidInput(
            f"{ref.uri}: keys in AWS KMS are made with AWS's tools (aws kms create-key "
            "--key-usage SIGN_VERIFY --key-spec ECC_NIST_P256); then write the public key "
            "with gatekeeper key export"
        )


AWS_KMS = AwsKmsBackend()
