"""Keys on a PKCS#11 token (an HSM, a YubiKey, a cloud HSM, SoftHSM): ``hsm:``.

The URI is securesystemslib's: ``hsm:[KEYID][?label=TOKEN]``, KEYID the decimal
``CKA_ID`` of the key pair on the token (default 2, the PIV signature slot), TOKEN the
token's label (needed when the module has several initialised tokens). The PKCS#11
module is the shared library named by ``PYKCS11LIB`` (for SoftHSM:
``/usr/lib/softhsm/libsofthsm2.so``). Signing goes through securesystemslib's
``HSMSigner`` (ECDSA P-256 or P-384; the token never hands out the private key).

The token's user PIN comes from the variable named by the key's ``--passphrase-env``,
else from ``GATEKEEPER_HSM_PIN``.

SECURITY: the PIN is read from the environment only, handed to the module, and never
written anywhere: no message carries it, whatever fails.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from securesystemslib.signer import Signer, SSlibKey

from gatekeeper._sdk_imports import enable
from gatekeeper.attest.signers.base import (
    GeneratedKey,
    GuardedSigner,
    KeyRef,
    LoadedSigner,
    public_key_from_crypto,
    public_key_from_pem,
    require_sdk,
    secret_from_env,
)
from gatekeeper.errors import InvalidInput

PIN_ENV = "GATEKEEPER_HSM_PIN"
MODULE_ENV = "PYKCS11LIB"
DEFAULT_KEYID = 2  # securesystemslib's default: the PIV digital-signature slot (9c)
_URI = re.compile(r"^hsm:(?P<id>[0-9]{0,18})(?:\?(?P<query>.*))?$", re.S)
_CURVES = {"ecdsa-p256": "secp256r1"}


class _Uri:
    def __init__(self, uri: str) -> None:
        match = _URI.match(uri)
        if match is None:
            raise InvalidInput(
                f"{uri}: not a PKCS#11 key URI (hsm:[KEYID][?label=TOKEN], KEYID a decimal number)"
            )
        self.keyid = int(match["id"]) if match["id"] else DEFAULT_KEYID
        self.label: str | None = None
        if match["query"] is not None:
            try:
                pairs = parse_qsl(match["query"], keep_blank_values=True, strict_parsing=True)
            except ValueError as exc:
                raise InvalidInput(f"{uri}: malformed query") from exc
            names = [name for name, _ in pairs]
            if names != ["label"] or not pairs[0][1]:
                raise InvalidInput(
                    f"{uri}: the only parameter is one non-empty label=TOKEN (got "
                    f"{', '.join(names) or 'none'})"
                )
            self.label = pairs[0][1]
        self.uri = uri

    @property
    def canonical(self) -> str:
        """The URI as securesystemslib's HSMSigner reads it."""
        query = f"?{urlencode({'label': self.label})}" if self.label else ""
        return f"hsm:{self.keyid}{query}"

    @property
    def token_name(self) -> str:
        return f"token {self.label!r}" if self.label else "the token"


def _module_path(uri: str) -> str:
    path = os.environ.get(MODULE_ENV)
    if not path:
        raise InvalidInput(
            f"{uri}: set {MODULE_ENV} to the PKCS#11 module of the token "
            "(for SoftHSM: /usr/lib/softhsm/libsofthsm2.so)"
        )
    if not Path(path).is_file():
        raise InvalidInput(f"{uri}: {MODULE_ENV}={path}: no such PKCS#11 module")
    return path


def _optional_pin(ref: KeyRef) -> tuple[str, str] | None:
    """The PIN and the variable it came from, if one is set."""
    return secret_from_env(ref, PIN_ENV, "token's user PIN")


def _pin(ref: KeyRef) -> tuple[str, str]:
    secret = _optional_pin(ref)
    if secret is None:
        raise InvalidInput(
            f"{ref.uri}: the token's user PIN is needed: give --passphrase-env NAME after this "
            f"--key (NAME: the variable holding the PIN), or set {PIN_ENV}"
        )
    return secret


def _token(uri: _Uri) -> Any:
    """The initialised token the URI names.

    Raises:
        InvalidInput: no module, no such token, or several tokens and no label.
    """
    pkcs11 = require_sdk("pkcs11", "hsm", "hsm")
    from pkcs11.exceptions import MultipleTokensReturned, NoSuchToken, PKCS11Error

    module = _module_path(uri.uri)
    try:
        lib = pkcs11.lib(module)
        return lib.get_token(token_label=uri.label, token_flags=pkcs11.TokenFlag.TOKEN_INITIALIZED)
    except NoSuchToken as exc:
        raise InvalidInput(
            f"{uri.uri}: no initialised PKCS#11 token"
            f"{f' labelled {uri.label!r}' if uri.label else ''} in {module} "
            "(is the token present and its label right?)"
        ) from exc
    except MultipleTokensReturned as exc:
        raise InvalidInput(
            f"{uri.uri}: several PKCS#11 tokens in {module}; name one with ?label=TOKEN"
        ) from exc
    except PKCS11Error as exc:
        raise InvalidInput(
            f"{uri.uri}: the PKCS#11 module {module} failed: {_explain(exc)}"
        ) from exc


def _explain(exc: Exception) -> str:
    """A reason for a PKCS#11 failure; never the PIN (the exceptions do not carry it)."""
    from pkcs11 import exceptions as p11

    if isinstance(exc, p11.PinIncorrect | p11.PinInvalid | p11.PinLenRange):
        return "wrong PIN"
    if isinstance(exc, p11.PinLocked):
        return "the token's user PIN is locked"
    if isinstance(exc, p11.PinExpired):
        return "the token's user PIN has expired"
    if isinstance(exc, p11.TokenNotPresent | p11.DeviceRemoved):
        return "the token is not present"
    if isinstance(exc, ValueError):  # securesystemslib's own refusals
        return str(exc)
    return type(exc).__name__


def _open(token: Any, uri: _Uri, pin: tuple[str, str], rw: bool = False) -> Any:
    from pkcs11.exceptions import PKCS11Error

    try:
        return token.open(user_pin=pin[0], rw=rw)
    except PKCS11Error as exc:
        raise InvalidInput(
            f"{uri.uri}: cannot log in to {uri.token_name}: {_explain(exc)} (PIN from {pin[1]})"
        ) from exc


def _check_private_key(token: Any, uri: _Uri, pin: tuple[str, str]) -> None:
    """Log in and find the private key, so a wrong PIN or a missing key refuses early."""
    import pkcs11
    from pkcs11.exceptions import MultipleObjectsReturned, NoSuchKey

    with _open(token, uri, pin) as session:
        try:
            session.get_key(
                pkcs11.ObjectClass.PRIVATE_KEY,
                pkcs11.KeyType.EC,
                id=pkcs11.util.biginteger(uri.keyid),
            )
        except NoSuchKey as exc:
            raise InvalidInput(
                f"{uri.uri}: no ECDSA private key with id {uri.keyid} on {uri.token_name} "
                "(gatekeeper signs with ECDSA P-256/P-384 keys on a token)"
            ) from exc
        except MultipleObjectsReturned as exc:
            raise InvalidInput(
                f"{uri.uri}: several private keys with id {uri.keyid} on {uri.token_name}"
            ) from exc


def _public_key(uri: _Uri, pin: tuple[str, str] | None) -> SSlibKey:
    enable("securesystemslib.signer._hsm_signer")
    from securesystemslib.signer import HSMSigner

    _token(uri)  # the clear errors for a missing module or token come from here
    handler = (lambda _name: pin[0]) if pin else None
    try:
        _, sslib_key = HSMSigner.import_(uri.keyid, uri.label, handler)
    except Exception as exc:  # securesystemslib and python-pkcs11 raise their own types
        raise InvalidInput(
            f"{uri.uri}: cannot read public key {uri.keyid} from {uri.token_name}: {_explain(exc)}"
        ) from exc
    return public_key_from_pem(str(sslib_key.keyval["public"]).encode(), uri.uri)


class Pkcs11Backend:
    """``hsm:``: a key pair on a PKCS#11 token."""

    def load(self, ref: KeyRef) -> LoadedSigner:
        uri = _Uri(ref.uri)
        pin = _pin(ref)
        token = _token(uri)
        _check_private_key(token, uri, pin)
        public = _public_key(uri, pin)
        try:
            inner = Signer.from_priv_key_uri(uri.canonical, public, lambda _name: pin[0])
        except ValueError as exc:
            raise InvalidInput(f"{uri.uri}: {exc}") from exc
        signer = GuardedSigner(inner, public, uri.uri, _explain)
        return LoadedSigner(signer=signer, public_key=public, source=uri.uri)

    def public_key(self, ref: KeyRef) -> SSlibKey:
        uri = _Uri(ref.uri)
        return _public_key(uri, _optional_pin(ref))

    def generate(self, ref: KeyRef, key_type: str | None, force: bool) -> GeneratedKey:
        """An ECDSA P-256 key pair made on the token (sensitive, never extractable)."""
        uri = _Uri(ref.uri)
        if force:
            raise InvalidInput(
                f"{uri.uri}: keygen never replaces a key on a token; choose a free key id"
            )
        curve = _CURVES.get(key_type or "ecdsa-p256")
        if curve is None:
            raise InvalidInput(
                f"{uri.uri}: keys on a token are ECDSA: --type ecdsa-p256 (not {key_type})"
            )
        pin = _pin(ref)
        import pkcs11
        from pkcs11.exceptions import PKCS11Error
        from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

        token = _token(uri)
        id_bytes = pkcs11.util.biginteger(uri.keyid)
        with _open(token, uri, pin, rw=True) as session:
            if next(iter(session.get_objects({pkcs11.Attribute.ID: id_bytes})), None):
                raise InvalidInput(
                    f"{uri.uri}: {uri.token_name} already holds a key with id {uri.keyid}; "
                    "choose a free id"
                )
            try:
                params = session.create_domain_parameters(
                    pkcs11.KeyType.EC,
                    {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters(curve)},
                    local=True,
                )
                public, _private = params.generate_keypair(
                    store=True,
                    id=id_bytes,
                    label=f"gatekeeper-{uri.keyid}",
                    private_template={
                        pkcs11.Attribute.SENSITIVE: True,
                        pkcs11.Attribute.EXTRACTABLE: False,
                    },
                )
                der = encode_ec_public_key(public)
            except PKCS11Error as exc:
                raise InvalidInput(
                    f"{uri.uri}: the token refused to make the key: {_explain(exc)}"
                ) from exc
        from cryptography.hazmat.primitives.serialization import load_der_public_key

        key = public_key_from_crypto(load_der_public_key(der), uri.uri)
        return GeneratedKey(key, f"ECDSA P-256 key {uri.keyid} on {uri.token_name}")


PKCS11 = Pkcs11Backend()
