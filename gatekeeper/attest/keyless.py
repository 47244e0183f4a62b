"""``attest --keyless``: sign a statement with the CI's ambient OIDC identity (Sigstore).

sigstore-python does the work: it asks the CI for an OIDC token with audience ``sigstore``
(GitHub Actions with ``permissions: id-token: write``, GitLab ``id_tokens``, Buildkite,
CircleCI, Google Cloud), has the instance's certificate authority (Fulcio) certify an
ephemeral key for that identity, signs the DSSE envelope, and records the signature in the
instance's transparency log (Rekor). The result is a Sigstore bundle, stored whole.

The instance is Sigstore's public-good one unless ``--trust-config FILE`` names another (a
``ClientTrustConfig``: its trusted root and signing configuration, e.g. a private
deployment). Nothing is signed without a token: there is no interactive fallback.

The token is a secret and never printed; errors name the step that failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekeeper._fileio import read_bounded
from gatekeeper.errors import InvalidInput, SigningError

MAX_TRUST_CONFIG_BYTES = 4 * 1024 * 1024

NO_CREDENTIAL = (
    "--keyless: no ambient OIDC credential; run in a CI that issues one to the job (GitHub "
    "Actions with `permissions: id-token: write`, GitLab CI with an `id_tokens` entry "
    "SIGSTORE_ID_TOKEN whose aud is sigstore, Buildkite, CircleCI, Google Cloud)"
)


def _trust_config(path: Path | None) -> Any:
    """The instance to sign with. Raises InvalidInput / SigningError."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import ClientTrustConfig

    if path is None:
        try:
            return ClientTrustConfig.production()
        except (SigstoreError, OSError, ValueError) as exc:
            raise SigningError(
                f"--keyless: cannot fetch the public-good instance's trust configuration "
                f"(TUF): {exc}"
            ) from exc
    data = read_bounded(path, MAX_TRUST_CONFIG_BYTES)
    try:
        return ClientTrustConfig.from_json(data.decode("utf-8"))
    except (SigstoreError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a Sigstore client trust configuration: {exc}") from exc


def ambient_token() -> str:
    """The CI's OIDC token for audience ``sigstore``.

    Raises:
        SigningError: none available, or the CI refused to issue one.
    """
    from sigstore.oidc import IdentityError, detect_credential

    try:
        token = detect_credential()
    except IdentityError as exc:
        raise SigningError(f"--keyless: the CI did not issue an OIDC token: {exc}") from exc
    if not token:
        raise SigningError(NO_CREDENTIAL)
    return token


def check_keyless(trust_config: Path | None) -> None:
    """Everything ``sign_keyless`` needs, checked before a stage's command runs.

    Raises:
        InvalidInput / SigningError: no trust configuration, or no ambient credential.
    """
    _trust_config(trust_config)
    ambient_token()


def sign_keyless(payload: bytes, trust_config: Path | None) -> bytes:
    """A Sigstore bundle (JSON) over the in-toto statement ``payload``.

    Raises:
        SigningError: no credential, or the certificate authority or the log refused.
    """
    from sigstore import dsse
    from sigstore.errors import Error as SigstoreError
    from sigstore.oidc import IdentityError, IdentityToken
    from sigstore.sign import SigningContext

    config = _trust_config(trust_config)
    try:
        identity = IdentityToken(ambient_token())
    except IdentityError as exc:
        raise SigningError(f"--keyless: the CI's OIDC token cannot be used: {exc}") from exc
    try:
        context = SigningContext.from_trust_config(config)
        with context.signer(identity, cache=True) as signer:
            bundle = signer.sign_dsse(dsse.Statement(payload))
    except (SigstoreError, OSError, ValueError) as exc:
        raise SigningError(f"--keyless: signing failed: {_why(exc)}") from exc
    except Exception as exc:  # the CA or log may fail in ways the client does not wrap
        raise SigningError(
            f"--keyless: the certificate authority or the transparency log refused: {_why(exc)}"
        ) from exc
    return bundle.to_json().encode("utf-8")


def _why(exc: BaseException) -> str:
    """The error and, when it says nothing, its cause (the client's HTTP error)."""
    text = str(exc).strip()
    if not text and exc.__cause__ is not None:
        text = str(exc.__cause__).strip()
    return f"{type(exc).__name__}: {text or 'no detail'}"


__all__ = ["NO_CREDENTIAL", "ambient_token", "check_keyless", "sign_keyless"]
