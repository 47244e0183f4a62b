"""A local stand-in for a Sigstore instance, for tests: our own keys, real certificates.

``Instance`` holds a root CA (Fulcio's role), a CT log key (signed certificate timestamps,
embedded in each certificate as RFC 6962 describes), a transparency log key (Rekor v1: entries,
RFC 6962 Merkle inclusion proofs, signed checkpoints and signed entry timestamps) and an OIDC
issuer key. Its pieces can be called directly to craft bundles (an expired certificate, a log
entry of another envelope), and ``serve`` puts them on 127.0.0.1 with the endpoints
sigstore-python's signing client calls (``/api/v2/signingCert``, ``/api/v1/log/entries``) and
the one GitHub Actions serves for ambient OIDC tokens (``ACTIONS_ID_TOKEN_REQUEST_URL``).

Nothing here is a product: it exists so that tests exercise sigstore-python and gatekeeper
against real signatures without reaching the public Sigstore instance.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
_SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
# GitHub token claim -> Fulcio extension (docs/oid-info.md in sigstore/fulcio)
_GITHUB_CLAIMS = {
    "job_workflow_ref": ("1.3.6.1.4.1.57264.1.9", "https://github.com/{}"),
    "job_workflow_sha": ("1.3.6.1.4.1.57264.1.10", "{}"),
    "runner_environment": ("1.3.6.1.4.1.57264.1.11", "{}"),
    "repository": ("1.3.6.1.4.1.57264.1.12", "https://github.com/{}"),
    "sha": ("1.3.6.1.4.1.57264.1.13", "{}"),
    "ref": ("1.3.6.1.4.1.57264.1.14", "{}"),
    "event_name": ("1.3.6.1.4.1.57264.1.20", "{}"),
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_utf8(value: str) -> bytes:
    raw = value.encode()
    return b"\x0c" + _der_length(len(raw)) + raw


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    return hashlib.sha256(_spki(key)).digest()


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _node_hash(_root(leaves[:k]), _root(leaves[k:]))


def _path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 audit path of leaf ``index`` (lowest level first)."""
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < k:
        return [*_path(index, leaves[:k]), _root(leaves[k:])]
    return [*_path(index - k, leaves[k:]), _root(leaves[:k])]


@dataclass
class Instance:
    """Keys and state of one stand-in instance (CA, CT log, transparency log, OIDC issuer)."""

    name: str = "gatekeeper-test"
    ca_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    ct_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    log_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    oidc_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    start: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(days=1))
    url: str = "http://127.0.0.1:0"
    leaves: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    issued: int = 0
    ca_cert: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.name),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{self.name}-root"),
            ]
        )
        public = self.ca_key.public_key()
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.start)
            .not_valid_after(self.start + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )

    # -- the trust material a verifier and a signer are given ---------------------------------

    def _public(self, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
        return {
            "rawBytes": _b64(_spki(key.public_key())),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }

    def trusted_root(self) -> dict[str, Any]:
        start = {"start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ")}
        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [
                {
                    "baseUrl": self.url,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": self._public(self.log_key),
                    "logId": {"keyId": _b64(key_id(self.log_key.public_key()))},
                }
            ],
            "certificateAuthorities": [
                {
                    "subject": {"organization": self.name, "commonName": f"{self.name}-root"},
                    "uri": self.url,
                    "certChain": {
                        "certificates": [
                            {
                                "rawBytes": _b64(
                                    self.ca_cert.public_bytes(serialization.Encoding.DER)
                                )
                            }
                        ]
                    },
                    "validFor": start,
                }
            ],
            "ctlogs": [
                {
                    "baseUrl": self.url,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": self._public(self.ct_key),
                    "logId": {"keyId": _b64(key_id(self.ct_key.public_key()))},
                }
            ],
            "timestampAuthorities": [],
        }

    def signing_config(self) -> dict[str, Any]:
        start = {"start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ")}

        def service(url: str) -> dict[str, Any]:
            return {"url": url, "majorApiVersion": 1, "validFor": start, "operator": self.name}

        return {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service(self.url)],
            "oidcUrls": [service(f"{self.url}/oauth")],
            "rekorTlogUrls": [service(self.url)],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        }

    def trust_config(self) -> dict[str, Any]:
        return {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root(),
            "signingConfig": self.signing_config(),
        }

    # -- OIDC --------------------------------------------------------------------------------

    def github_token(
        self,
        workflow: str = "acme/app/.github/workflows/release.yml@refs/tags/v1.2.0",
        **extra: Any,
    ) -> str:
        """A GitHub Actions-style OIDC token (audience ``sigstore``), signed by our issuer."""
        now = int(time.time())
        repo = workflow.split("/.github/")[0]
        claims = {
            "iss": GITHUB_ISSUER,
            "aud": "sigstore",
            "sub": f"repo:{repo}:ref:refs/tags/v1.2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "job_workflow_ref": workflow,
            "job_workflow_sha": "a" * 40,
            "repository": repo,
            "sha": "b" * 40,
            "ref": "refs/tags/v1.2.0",
            "event_name": "push",
            "runner_environment": "github-hosted",
            **extra,
        }
        return jwt.encode(claims, self.oidc_key, algorithm="ES256")

    def email_token(self, email: str, issuer: str = "https://github.com/login/oauth") -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": "sigstore",
            "sub": "1234",
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + 300,
        }
        return jwt.encode(claims, self.oidc_key, algorithm="ES256")

    # -- Fulcio ------------------------------------------------------------------------------

    def certificate(
        self,
        public_key: ec.EllipticCurvePublicKey,
        token: str,
        *,
        not_before: datetime | None = None,
        lifetime: timedelta = timedelta(minutes=10),
    ) -> x509.Certificate:
        """A Fulcio-like code-signing certificate for the identity in ``token``, with an SCT."""
        claims = jwt.decode(
            token, self.oidc_key.public_key(), algorithms=["ES256"], audience="sigstore"
        )
        issuer = claims["iss"]
        start = (not_before or datetime.now(UTC) - timedelta(seconds=5)).replace(microsecond=0)
        if issuer == GITHUB_ISSUER:
            san: x509.GeneralName = x509.UniformResourceIdentifier(
                f"https://github.com/{claims['job_workflow_ref']}"
            )
        else:
            san = x509.RFC822Name(claims["email"])
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + lifetime)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
            .add_extension(x509.UnrecognizedExtension(_ISSUER_V1, issuer.encode()), critical=False)
            .add_extension(x509.UnrecognizedExtension(_ISSUER_V2, der_utf8(issuer)), critical=False)
        )
        if issuer == GITHUB_ISSUER:
            for claim, (oid, shape) in _GITHUB_CLAIMS.items():
                if claim in claims:
                    value = shape.format(claims[claim])
                    builder = builder.add_extension(
                        x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), der_utf8(value)),
                        critical=False,
                    )
        self.issued += 1
        precert = builder.sign(self.ca_key, hashes.SHA256())
        sct = self._sct(precert.tbs_certificate_bytes)
        return builder.add_extension(
            x509.UnrecognizedExtension(_SCT_OID, sct), critical=False
        ).sign(self.ca_key, hashes.SHA256())

    def _sct(self, tbs: bytes) -> bytes:
        """The SCT list extension's value for a precertificate TBS (RFC 6962, 3.2 and 3.3)."""
        timestamp = int(time.time() * 1000)
        issuer_key_hash = key_id(self.ca_key.public_key())
        signed = (
            struct.pack("!BBQH", 0, 0, timestamp, 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack("!H", 0)
        )
        signature = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            bytes([0])
            + key_id(self.ct_key.public_key())
            + struct.pack("!QH", timestamp, 0)
            + bytes([4, 3])
            + struct.pack("!H", len(signature))
            + signature
        )
        listing = struct.pack("!H", len(sct)) + sct
        listing = struct.pack("!H", len(listing)) + listing
        return b"\x04" + _der_length(len(listing)) + listing

    # -- Rekor (v1, dsse 0.0.1) ----------------------------------------------------------------

    def dsse_body(self, envelope: dict[str, Any], cert: x509.Certificate) -> bytes:
        payload = base64.b64decode(envelope["payload"])
        pem = cert.public_bytes(serialization.Encoding.PEM)
        body = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(
                        json.dumps(envelope, sort_keys=True).encode()
                    ).hexdigest(),
                },
                "payloadHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(payload).hexdigest(),
                },
                "signatures": [
                    {"signature": s["sig"], "verifier": _b64(pem)} for s in envelope["signatures"]
                ],
            },
        }
        return rfc8785.dumps(body)

    def log(self, body: bytes, integrated: int | None = None) -> dict[str, Any]:
        """Append ``body``; the entry as Rekor's v1 API returns it (uuid -> entry)."""
        self.bodies.append(body)
        self.leaves.append(_leaf_hash(body))
        index = len(self.leaves) - 1
        integrated = int(time.time()) if integrated is None else integrated
        log_id = key_id(self.log_key.public_key())
        b64body = _b64(body)
        canonical = rfc8785.dumps(
            {
                "body": b64body,
                "integratedTime": integrated,
                "logID": log_id.hex(),
                "logIndex": index,
            }
        )
        set_sig = self.log_key.sign(canonical, ec.ECDSA(hashes.SHA256()))
        root = _root(self.leaves)
        note = f"{self.name} - 1\n{len(self.leaves)}\n{_b64(root)}\n"
        note_sig = self.log_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 {self.name} {_b64(log_id[:4] + note_sig)}\n"
        entry = {
            "body": b64body,
            "integratedTime": integrated,
            "logID": log_id.hex(),
            "logIndex": index,
            "verification": {
                "inclusionProof": {
                    "logIndex": index,
                    "rootHash": root.hex(),
                    "treeSize": len(self.leaves),
                    "hashes": [h.hex() for h in _path(index, self.leaves)],
                    "checkpoint": checkpoint,
                },
                "signedEntryTimestamp": _b64(set_sig),
            },
        }
        return {hashlib.sha256(body).hexdigest(): entry}

    # -- crafting bundles directly -------------------------------------------------------------

    def bundle(
        self,
        payload: bytes,
        token: str,
        *,
        not_before: datetime | None = None,
        integrated: int | None = None,
        log_envelope: dict[str, Any] | None = None,
        payload_type: str = "application/vnd.in-toto+json",
    ) -> dict[str, Any]:
        """A bundle (v0.3) signed by a fresh key certified for ``token``'s identity.

        ``log_envelope``: log another envelope than the bundle's (a log entry that does not
        match); ``not_before``/``integrated``: the certificate's validity and the log's time.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.certificate(key.public_key(), token, not_before=not_before)
        pae = b"DSSEv1 %d %s %d %s" % (
            len(payload_type),
            payload_type.encode(),
            len(payload),
            payload,
        )
        sig = key.sign(pae, ec.ECDSA(hashes.SHA256()))
        envelope = {
            "payload": _b64(payload),
            "payloadType": payload_type,
            "signatures": [{"sig": _b64(sig)}],
        }
        uuid, entry = next(
            iter(self.log(self.dsse_body(log_envelope or envelope, cert), integrated).items())
        )
        del uuid
        proof = entry["verification"]["inclusionProof"]
        return {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))},
                "tlogEntries": [
                    {
                        "logIndex": str(entry["logIndex"]),
                        "logId": {"keyId": _b64(bytes.fromhex(entry["logID"]))},
                        "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                        "integratedTime": str(entry["integratedTime"]),
                        "inclusionPromise": {
                            "signedEntryTimestamp": entry["verification"]["signedEntryTimestamp"]
                        },
                        "inclusionProof": {
                            "logIndex": str(proof["logIndex"]),
                            "rootHash": _b64(bytes.fromhex(proof["rootHash"])),
                            "treeSize": str(proof["treeSize"]),
                            "hashes": [_b64(bytes.fromhex(h)) for h in proof["hashes"]],
                            "checkpoint": {"envelope": proof["checkpoint"]},
                        },
                        "canonicalizedBody": entry["body"],
                    }
                ],
            },
            "dsseEnvelope": envelope,
        }


class _Handler(BaseHTTPRequestHandler):
    instance: Instance
    requests: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.requests.append(f"GET {url.path}")
        if url.path == "/token":
            audience = parse_qs(url.query).get("audience", [""])[0]
            if (
                self.headers.get("Authorization") != "bearer runner-request-token"
                or audience != "sigstore"
            ):
                self._send(403, {"message": "bad token request"})
                return
            self._send(200, {"value": self.server.token})  # type: ignore[attr-defined]
            return
        self._send(404, {"message": "no such endpoint"})

    def do_POST(self) -> None:
        url = urlparse(self.path)
        self.requests.append(f"POST {url.path}")
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if url.path == "/api/v2/signingCert":
            token = self.headers["Authorization"].removeprefix("Bearer ")
            csr = x509.load_pem_x509_csr(base64.b64decode(data["certificateSigningRequest"]))
            public = csr.public_key()
            assert isinstance(public, ec.EllipticCurvePublicKey)
            try:
                cert = self.instance.certificate(public, token)
            except jwt.PyJWTError as exc:
                self._send(401, {"message": f"identity token refused: {exc}"})
                return
            chain = [
                c.public_bytes(serialization.Encoding.PEM).decode()
                for c in (cert, self.instance.ca_cert)
            ]
            self._send(201, {"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}})
            return
        if url.path == "/api/v1/log/entries":
            content = data["spec"]["proposedContent"]
            envelope = json.loads(content["envelope"])
            pem = base64.b64decode(content["verifiers"][0])
            cert = x509.load_pem_x509_certificate(pem)
            self._send(201, self.instance.log(self.instance.dsse_body(envelope, cert)))
            return
        self._send(404, {"message": "no such endpoint"})


@contextmanager
def serve(instance: Instance, token: str = "") -> Iterator[tuple[str, list[str]]]:
    """Serve ``instance`` on 127.0.0.1; yields its URL and the requests it received."""
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"instance": instance, "requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.token = token  # type: ignore[attr-defined]
    instance.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield instance.url, requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
