"""moto's AWS KMS as a real HTTP server on 127.0.0.1, for the awskms: tests.

Run as ``python _moto_kms.py``: it binds a free loopback port, prints it on the first line
of standard output, and serves until terminated.

moto (5.x) signs with real keys (cryptography's ECDSA and RSA; ECDSA signatures DER, as
AWS returns them) and verifies correctly for ``MessageType=RAW``. It does not implement
``MessageType=DIGEST`` (its own docstring says so): the digest is hashed again as if it
were the message, so the signature is over sha256(digest) and verifies under nothing. AWS
KMS signs the digest as given, which is what gatekeeper (through securesystemslib's
AWSSigner) sends, since RAW is limited to 4096-byte messages. So that the tests exercise the
signing path gatekeeper uses in production, this server honours ``DIGEST`` as AWS documents
it: the same moto key signs the given digest (cryptography's ``Prehashed``). moto also signs
with a disabled key; here Sign refuses a key that is not enabled, with AWS's error codes.
Everything else -- keys, key policies, key states, public keys, errors -- is moto's own.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from moto.core.exceptions import JsonRESTError
from moto.kms.responses import KmsResponse
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_moto_sign = KmsResponse.sign


def _sign(self: Any) -> str:
    key_id = self._get_param("KeyId")
    self._validate_key_id(key_id)
    key = self.kms_backend.describe_key(key_id)
    if key.key_state != "Enabled":
        code = "DisabledException" if key.key_state == "Disabled" else "KMSInvalidStateException"
        raise JsonRESTError(code, f"{key.arn} is {key.key_state}.")
    if self._get_param("MessageType") != "DIGEST":
        return str(_moto_sign(self))
    algorithm = str(self._get_param("SigningAlgorithm"))
    message = self._get_param("Message")
    digest = message.encode("utf-8") if isinstance(message, str) else bytes(message)
    if key.key_usage != "SIGN_VERIFY" or algorithm not in key.signing_algorithms:
        return str(_moto_sign(self))  # moto's own validation errors
    hash_algorithm = _HASHES[algorithm[-3:]]()
    prehashed = utils.Prehashed(hash_algorithm)
    private = key.private_key.private_key
    if algorithm.startswith("ECDSA"):
        signature = private.sign(digest, ec.ECDSA(prehashed))
    elif algorithm.startswith("RSASSA_PSS"):
        pss = padding.PSS(padding.MGF1(hash_algorithm), padding.PSS.DIGEST_LENGTH)
        signature = private.sign(digest, pss, prehashed)
    else:
        signature = private.sign(digest, padding.PKCS1v15(), prehashed)
    return json.dumps(
        {
            "KeyId": key.arn,
            "Signature": base64.b64encode(signature).decode("ascii"),
            "SigningAlgorithm": algorithm,
        }
    )


def main() -> None:
    KmsResponse.sign = _sign  # type: ignore[method-assign]
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, True, request_handler=MotoRequestHandler)
    sys.stdout.write(f"{server.server_port}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
