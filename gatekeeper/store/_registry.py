"""A small OCI distribution API client: blobs, manifests, tags, referrers, auth.

Speaks the OCI distribution spec (https://github.com/opencontainers/distribution-spec)
with requests through :class:`gatekeeper._http.HttpClient` (timeouts, bounded retries with
backoff, Retry-After). Authentication follows the registry's ``WWW-Authenticate``
challenge: HTTP basic, or a bearer token from the challenge's token endpoint.

Credentials come from the environment (``GATEKEEPER_REGISTRY_USERNAME`` and
``GATEKEEPER_REGISTRY_PASSWORD``, or ``GATEKEEPER_REGISTRY_TOKEN``) or the Docker config
file (``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``, ``auths.<host>.auth``);
never from the command line, never logged.

SECURITY: every blob and manifest read by digest is checked against that digest; a
manifest read by tag is hashed and compared with the registry's ``Docker-Content-Digest``.
TLS is used unless the caller asked for plain HTTP, which is refused for any host that is
not loopback.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from gatekeeper._fileio import dumps_json, loads_json_strict
from gatekeeper._http import HttpClient
from gatekeeper.errors import InvalidInput, StoreError
from gatekeeper.store.base import StoreLimitError

USERNAME_ENV = "GATEKEEPER_REGISTRY_USERNAME"
PASSWORD_ENV = "GATEKEEPER_REGISTRY_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
TOKEN_ENV = "GATEKEEPER_REGISTRY_TOKEN"  # noqa: S105 - the name of a variable, not a secret

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_ACCEPT = ", ".join((MANIFEST_TYPE, INDEX_TYPE, *DOCKER_MANIFEST_TYPES))

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the limit registries apply to manifests
MAX_BLOB_BYTES = 64 * 1024 * 1024
MAX_LIST_BYTES = 64 * 1024 * 1024  # one listing (tags, referrers), over all its pages
MAX_TOKEN_BYTES = 1024 * 1024
MAX_PAGES = 10_000
BLOB_UNKNOWN_RETRIES = 3  # manifest writes refused for a blob that was uploaded (see below)
_ERROR_BODY_BYTES = 2000  # read of an error answer, for the registry's own message

_DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
_REPO_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_CHALLENGE_PARAM = re.compile(r'([A-Za-z_]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(doc: dict[str, Any]) -> bytes:
    """The one serialisation gatekeeper pushes: sorted keys, no spaces (stable digests)."""
    return dumps_json(doc, indent=None).encode("utf-8")


# The OCI empty descriptor: the config (and anchor layer) of gatekeeper's artifacts.
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_DATA = b"{}"
EMPTY_DESCRIPTOR: dict[str, Any] = {
    "mediaType": EMPTY_TYPE,
    "digest": digest_of(EMPTY_DATA),
    "size": 2,
    "data": "e30=",
}


def is_digest(value: str) -> bool:
    return bool(_DIGEST.match(value))


def _check_digest(data: bytes, digest: str, what: str) -> None:
    alg, _, expected = digest.partition(":")
    if alg not in ("sha256", "sha512"):
        raise StoreError(f"{what}: unsupported digest algorithm {alg!r}")
    actual = hashlib.new(alg, data).hexdigest()
    if actual != expected:
        # SECURITY: a registry (or anything in between) that serves other bytes is not trusted.
        raise StoreError(f"{what}: content does not match its digest {digest} (got {alg}:{actual})")


def is_loopback_host(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _repository(uri: str, repository: str) -> str:
    """Raises InvalidInput unless ``repository`` is a valid OCI repository name."""
    if not repository:
        raise InvalidInput(f"{uri}: no repository (oci://HOST[:PORT]/REPO)")
    for component in repository.split("/"):
        if not _REPO_COMPONENT.match(component):
            raise InvalidInput(
                f"{uri}: {component!r} is not a valid repository name component "
                "(lower-case letters, digits and . _ - separators)"
            )
    if len(repository) > 255:
        raise InvalidInput(f"{uri}: repository name longer than 255 characters")
    return repository


@dataclass(frozen=True)
class RegistryRef:
    """Where a store lives: ``oci://HOST[:PORT]/REPO``."""

    host: str  # host[:port], as written
    repository: str

    @classmethod
    def parse(cls, uri: str) -> RegistryRef:
        """Raises InvalidInput for anything but ``oci://HOST[:PORT]/REPO``."""
        if not uri.startswith("oci://"):
            raise InvalidInput(f"{uri}: not an oci:// store URI")
        parts = urlsplit(uri)
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            # SECURITY: credentials never come from the command line (they end up in logs).
            raise InvalidInput(
                f"oci://{parts.hostname}/...: credentials in the store URI are "
                f"refused; set {USERNAME_ENV}/{PASSWORD_ENV} or use docker login"
            )
        if parts.query or parts.fragment:
            raise InvalidInput(f"{uri}: a store URI has no query or fragment")
        if not parts.netloc or parts.hostname is None:
            raise InvalidInput(f"{uri}: no registry host (oci://HOST[:PORT]/REPO)")
        try:
            _ = parts.port
        except ValueError as exc:
            raise InvalidInput(f"{uri}: bad port") from exc
        return cls(host=parts.netloc, repository=_repository(uri, parts.path.strip("/")))

    @property
    def hostname(self) -> str:
        return urlsplit(f"//{self.host}").hostname or self.host


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = None
    token: str | None = None  # a registry bearer token, sent as is
    source: str = ""  # where they came from, for messages (never the values)

    def __repr__(self) -> str:  # SECURITY: never show credentials, even in a traceback
        return f"Credentials(source={self.source!r})"


def _docker_config_path(environ: Mapping[str, str]) -> Path:
    directory = environ.get("DOCKER_CONFIG")
    if directory:
        return Path(directory) / "config.json"
    return Path(environ.get("HOME") or Path.home()) / ".docker" / "config.json"


def _normalise_auth_key(key: str) -> str:
    if "://" in key:
        key = urlsplit(key).netloc
    return key.split("/", 1)[0].lower()


def _from_environment(env: Mapping[str, str]) -> Credentials | None:
    """Raises InvalidInput for half-set or conflicting variables."""
    user, password, token = env.get(USERNAME_ENV), env.get(PASSWORD_ENV), env.get(TOKEN_ENV)
    if token:
        if user or password:
            raise InvalidInput(f"set either {TOKEN_ENV} or {USERNAME_ENV}/{PASSWORD_ENV}, not both")
        return Credentials(token=token, source=TOKEN_ENV)
    if not (user or password):
        return None
    if not (user and password):
        raise InvalidInput(f"{USERNAME_ENV} and {PASSWORD_ENV} must be set together")
    return Credentials(username=user, password=password, source=f"{USERNAME_ENV}/{PASSWORD_ENV}")


def _docker_auths(path: Path) -> dict[str, Any] | None:
    """The ``auths`` of a Docker config file; None without one. Raises InvalidInput."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_TOKEN_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_TOKEN_BYTES:
        raise InvalidInput(f"{path}: larger than {MAX_TOKEN_BYTES} bytes")
    try:
        config = loads_json_strict(raw)
    except ValueError as exc:
        raise InvalidInput(f"{path}: not valid JSON: {exc}") from exc
    auths = config.get("auths") if isinstance(config, dict) else None
    return auths if isinstance(auths, dict) else None


def _docker_entry(path: Path, key: str, entry: dict[str, Any]) -> Credentials | None:
    """The credentials of one ``auths`` entry: ``auth`` (base64 user:password) or plain fields."""
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidInput(
                f"{path}: auths[{key!r}].auth is not base64 of user:password"
            ) from exc
        name, sep, secret = decoded.partition(":")
        if not sep:
            raise InvalidInput(f"{path}: auths[{key!r}].auth is not base64 of user:password")
        return Credentials(username=name, password=secret, source=str(path))
    plain_user, plain_secret = entry.get("username"), entry.get("password")
    if (
        isinstance(plain_user, str)
        and isinstance(plain_secret, str)
        and plain_user
        and plain_secret
    ):
        return Credentials(username=plain_user, password=plain_secret, source=str(path))
    return None


def load_credentials(host: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials for ``host`` from the environment, else the Docker config file.

    Raises:
        InvalidInput: half-set variables, or a Docker config that is not valid JSON.
    """
    env = os.environ if environ is None else environ
    found = _from_environment(env)
    if found is not None:
        return found
    path = _docker_config_path(env)
    auths = _docker_auths(path)
    if auths is None:
        return None
    wanted = host.lower()
    for key in sorted(auths):
        entry = auths[key]
        if _normalise_auth_key(key) == wanted and isinstance(entry, dict):
            creds = _docker_entry(path, key, entry)
            if creds is not None:
                return creds
    return None


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _CHALLENGE_PARAM.finditer(rest)
    }
    return scheme.lower(), params


def read_limited(response: requests.Response, limit: int, what: str) -> bytes:
    """The body of a streamed response, refusing more than ``limit`` bytes."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        response.close()
        raise StoreLimitError(f"{what}: {declared} bytes, more than the {limit}-byte limit")
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_content(chunk_size=65536):
            total += len(chunk)
            if total > limit:
                raise StoreLimitError(f"{what}: more than the {limit}-byte limit")
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise StoreError(f"{what}: connection failed while reading: {type(exc).__name__}") from exc
    finally:
        response.close()
    return b"".join(chunks)


@dataclass(frozen=True)
class Manifest:
    data: bytes
    digest: str
    media_type: str


class RegistryClient:
    """One repository on one registry."""

    def __init__(
        self,
        ref: RegistryRef,
        *,
        insecure: bool = False,
        credentials: Credentials | None = None,
        http: HttpClient | None = None,
    ) -> None:
        if insecure and not is_loopback_host(ref.hostname):
            # SECURITY: plain HTTP would expose credentials and let anyone on the path swap
            # content; it is only for a registry on this machine (tests, CI sidecars).
            raise InvalidInput(
                f"--insecure-registry is allowed only for loopback hosts, not {ref.hostname}"
            )
        self.ref = ref
        self.insecure = insecure
        self.scheme = "http" if insecure else "https"
        self.origin = f"{self.scheme}://{ref.host}"
        self.base = f"{self.origin}/v2/{ref.repository}"
        self.credentials = credentials
        self.http = http or HttpClient()
        self._authorization: str | None = None
        # Every tag, as last listed where the registry cannot list by prefix; dropped when
        # this client writes a tag, so a listing is never older than this client's writes.
        self._whole_tags: list[str] | None = None
        if credentials is not None and credentials.token:
            self._authorization = f"Bearer {credentials.token}"

    # -- transport -----------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send a request, answering at most two authentication challenges.

        Raises:
            StoreError: the registry cannot be reached or refuses the credentials.
        """
        full = urljoin(self.origin + "/", url)
        same_origin = urlsplit(full).netloc == self.ref.host
        challenges = 0
        while True:
            sent = dict(headers or {})
            if self._authorization and same_origin:
                # SECURITY: credentials go to the registry itself, never to another host.
                sent["Authorization"] = self._authorization
            try:
                response = self.http.request(
                    method,
                    full,
                    headers=sent,
                    data=data,
                    params=params,
                    stream=stream,
                    allow_redirects=method in ("GET", "HEAD"),
                )
            except requests.RequestException as exc:
                raise StoreError(
                    f"{self.display}: cannot reach the registry: "
                    f"{type(exc).__name__}: {_short(exc)}"
                ) from exc
            if response.status_code != 401 or not same_origin or challenges >= 2:
                if response.status_code == 401:
                    response.close()
                    raise StoreError(self._auth_failure())
                return response
            header = response.headers.get("WWW-Authenticate", "")
            response.close()
            challenges += 1
            self._answer_challenge(header)

    @property
    def display(self) -> str:
        return f"oci://{self.ref.host}/{self.ref.repository}"

    def _auth_failure(self) -> str:
        if self.credentials is None:
            return (
                f"{self.display}: the registry requires authentication; set {USERNAME_ENV} and "
                f"{PASSWORD_ENV} (or {TOKEN_ENV}), or log in with docker login "
                "(credential helpers are not run)"
            )
        return (
            f"{self.display}: the registry refused the credentials from {self.credentials.source}"
        )

    def _answer_challenge(self, header: str) -> None:
        scheme, params = _parse_challenge(header)
        creds = self.credentials
        if scheme == "basic":
            if creds is None or creds.username is None or creds.password is None:
                raise StoreError(self._auth_failure())
            pair = f"{creds.username}:{creds.password}".encode()
            self._authorization = "Basic " + base64.b64encode(pair).decode("ascii")
            return
        if scheme == "bearer":
            if creds is not None and creds.token:
                raise StoreError(self._auth_failure())
            self._authorization = "Bearer " + self._fetch_token(params)
            return
        raise StoreError(f"{self.display}: unsupported authentication challenge {scheme!r}")

    def _token_endpoint(self, params: dict[str, str]) -> str:
        """The challenge's realm, if credentials may be sent there. Raises StoreError."""
        realm = params.get("realm")
        if not realm:
            raise StoreError(f"{self.display}: bearer challenge without a realm")
        parts = urlsplit(realm)
        plain_loopback = (
            parts.scheme == "http" and self.insecure and is_loopback_host(parts.hostname or "")
        )
        if parts.scheme != "https" and not plain_loopback:
            # SECURITY: credentials are never sent to a token endpoint over plain HTTP.
            raise StoreError(
                f"{self.display}: token endpoint {parts.scheme}://{parts.netloc} "
                "is not HTTPS; refusing to send credentials"
            )
        return realm

    def _basic_authorization(self) -> dict[str, str]:
        creds = self.credentials
        if creds is None or creds.username is None or creds.password is None:
            return {}
        pair = f"{creds.username}:{creds.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    def _fetch_token(self, params: dict[str, str]) -> str:
        realm = self._token_endpoint(params)
        query = {k: v for k, v in params.items() if k in ("service", "scope")}
        try:
            response = self.http.request(
                "GET",
                realm,
                params=query,
                headers=self._basic_authorization(),
                stream=True,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise StoreError(
                f"{self.display}: cannot reach the token endpoint: {type(exc).__name__}"
            ) from exc
        if response.status_code in (401, 403):
            response.close()
            raise StoreError(self._auth_failure())
        if response.status_code != 200:
            response.close()
            raise StoreError(f"{self.display}: token endpoint answered HTTP {response.status_code}")
        return self._token_from(read_limited(response, MAX_TOKEN_BYTES, "token response"))

    def _token_from(self, body: bytes) -> str:
        try:
            doc = loads_json_strict(body)
        except ValueError as exc:
            raise StoreError(f"{self.display}: token response is not JSON") from exc
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
            raise StoreError(f"{self.display}: token response carries no token")
        return token

    def _fail(self, response: requests.Response, what: str) -> StoreError:
        errors = self._errors(response)
        detail = ""
        if errors:
            detail = f": {errors[0].get('code', '')} {errors[0].get('message', '')}".rstrip()
        return StoreError(f"{self.display}: {what}: HTTP {response.status_code}{detail}")

    def _raise_unless_blob_race(
        self, response: requests.Response, reference: str, *, last: bool
    ) -> None:
        """Raise StoreError for a refused manifest write, unless it is to be tried again.

        NOTE: docker-registry 2.8 rewrites a repository's link to a blob in place when two
        writers upload the same blob at once (the empty config, by the first pushes into a
        repository): a manifest naming it meanwhile is refused as naming an unknown blob.
        Every blob a manifest names was uploaded and confirmed first, so that answer is the
        race, and the write is tried again a moment later.
        """
        errors = self._errors(response) if response.status_code == 400 else []
        if not last and any(e.get("code") == "MANIFEST_BLOB_UNKNOWN" for e in errors):
            return
        detail = f": {errors[0].get('code', '')} {errors[0].get('message', '')}" if errors else ""
        raise StoreError(
            f"{self.display}: PUT manifest {reference}: HTTP {response.status_code}"
            f"{detail.rstrip()}"
        )

    def _errors(self, response: requests.Response) -> list[dict[str, Any]]:
        """The registry's error list, read only as far as _ERROR_BODY_BYTES; closes it."""
        try:
            # SECURITY: most requests stream; `.content` would read an error body of any size.
            head = b""
            for chunk in response.iter_content(chunk_size=_ERROR_BODY_BYTES):
                head += chunk
                if len(head) >= _ERROR_BODY_BYTES:
                    break
            text = head[:_ERROR_BODY_BYTES].decode("utf-8", "replace")
            doc = json.loads(text)
            errors = doc.get("errors") if isinstance(doc, dict) else None
            if isinstance(errors, list):
                return [e for e in errors if isinstance(e, dict)]
        except (ValueError, requests.RequestException):
            pass
        finally:
            response.close()
        return []

    # -- the API -------------------------------------------------------------------------

    def ping(self) -> None:
        """Check the registry speaks the distribution API (and the credentials work)."""
        response = self.request("GET", f"{self.origin}/v2/")
        if response.status_code != 200:
            raise self._fail(response, "not an OCI registry (GET /v2/)")
        response.close()

    def blob_exists(self, digest: str) -> bool:
        response = self.request("HEAD", f"{self.base}/blobs/{digest}")
        response.close()
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._fail(response, f"HEAD blob {digest}")

    def push_blob(self, data: bytes) -> str:
        """Upload ``data`` (monolithic POST + PUT) unless the registry has it; return its digest."""
        digest = digest_of(data)
        if self.blob_exists(digest):
            return digest
        response = self.request("POST", f"{self.base}/blobs/uploads/")
        if response.status_code != 202 or not response.headers.get("Location"):
            raise self._fail(response, "start blob upload")
        location = urljoin(f"{self.base}/blobs/uploads/", response.headers["Location"])
        response.close()
        separator = "&" if "?" in location else "?"
        response = self.request(
            "PUT",
            f"{location}{separator}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if response.status_code not in (201, 204):
            if self.blob_exists(digest):  # a concurrent writer completed the same blob
                response.close()
                return digest
            raise self._fail(response, f"upload blob {digest}")
        response.close()
        return digest

    def get_blob(self, digest: str, limit: int = MAX_BLOB_BYTES) -> bytes | None:
        """The blob's bytes, checked against ``digest``; None when the registry has no such blob."""
        response = self.request("GET", f"{self.base}/blobs/{digest}", stream=True)
        if response.status_code == 404:
            response.close()
            return None
        if response.status_code != 200:
            raise self._fail(response, f"GET blob {digest}")
        data = read_limited(response, limit, f"blob {digest}")
        _check_digest(data, digest, f"{self.display} blob")
        return data

    def head_manifest(self, reference: str) -> tuple[str, int, str] | None:
        """(media type, size, digest) of a manifest, or None when absent."""
        response = self.request(
            "HEAD", f"{self.base}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}
        )
        response.close()
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, f"HEAD manifest {reference}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        size = response.headers.get("Content-Length", "")
        digest = response.headers.get("Docker-Content-Digest", "")
        if not size.isdigit() or not is_digest(digest) or not media_type:
            return None  # NOTE: without a full descriptor the caller uses a synthetic subject
        if is_digest(reference) and digest != reference:
            raise StoreError(f"{self.display}: manifest {reference} answered as {digest}")
        return media_type, int(size), digest

    def get_manifest(self, reference: str) -> Manifest | None:
        """A manifest by digest or tag, checked; None when absent."""
        response = self.request(
            "GET",
            f"{self.base}/manifests/{reference}",
            headers={"Accept": MANIFEST_ACCEPT},
            stream=True,
        )
        if response.status_code == 404:
            response.close()
            return None
        if response.status_code != 200:
            raise self._fail(response, f"GET manifest {reference}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        announced = response.headers.get("Docker-Content-Digest", "")
        data = read_limited(response, MAX_MANIFEST_BYTES, f"manifest {reference}")
        if is_digest(reference):
            _check_digest(data, reference, f"{self.display} manifest")
            digest = reference
        else:
            digest = digest_of(data)
            if announced and announced != digest and announced.startswith("sha256:"):
                raise StoreError(
                    f"{self.display}: manifest {reference} does not match the digest "
                    f"the registry announced ({announced})"
                )
        return Manifest(data=data, digest=digest, media_type=media_type)

    def put_manifest(
        self, reference: str, data: bytes, media_type: str, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        """PUT a manifest; returns the (closed) response so callers can read its headers.

        Raises:
            StoreError: the registry refused it (HTTP 412 is returned, not raised).
        """
        if not (is_digest(reference) or _TAG.match(reference)):
            raise StoreError(f"{reference!r} is neither a digest nor a valid tag")
        sent = {"Content-Type": media_type, **(headers or {})}
        if not is_digest(reference):
            self._whole_tags = None
        for attempt in range(BLOB_UNKNOWN_RETRIES + 1):
            response = self.request(
                "PUT", f"{self.base}/manifests/{reference}", data=data, headers=sent
            )
            if response.status_code == 412:
                response.close()
                return response
            if response.status_code in (200, 201, 202):
                break
            self._raise_unless_blob_race(response, reference, last=attempt == BLOB_UNKNOWN_RETRIES)
            self.http.sleep(0.05 * 2**attempt)
        response.close()
        announced = response.headers.get("Docker-Content-Digest")
        if announced and announced != digest_of(data):
            raise StoreError(
                f"{self.display}: the registry stored manifest {reference} as "
                f"{announced}, not {digest_of(data)}"
            )
        return response

    def _pages(
        self,
        url: str,
        what: str,
        *,
        params: dict[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[Any]:
        """The JSON document of each page of a listing, following ``Link`` headers.

        Yields None once (and stops) when the registry answers 404 for the first page.

        Raises:
            StoreError: an error answer, a body that is not JSON, or too many pages.
        """
        for doc, _ in self._linked_pages(url, what, params=params, headers=headers):
            yield doc

    def _linked_pages(
        self,
        url: str,
        what: str,
        *,
        params: dict[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[tuple[Any, bool]]:
        """``_pages``, each page with whether the registry named a next one (``Link``)."""
        next_url: str | None = url
        pages = 0
        total = 0
        while next_url is not None:
            pages += 1
            if pages > MAX_PAGES:
                raise StoreLimitError(f"{self.display}: more than {MAX_PAGES} pages of {what}")
            response = self.request("GET", next_url, params=params, stream=True, headers=headers)
            if response.status_code == 404 and pages == 1:
                response.close()
                yield None, False
                return
            if response.status_code != 200:
                raise self._fail(response, f"GET {what}")
            link = response.headers.get("Link")
            # SECURITY: the cap is on the whole listing, not each page: a registry that pages
            # forever (or a repository flooded with tags) must not grow memory without bound.
            remaining = MAX_LIST_BYTES - total
            try:
                body = read_limited(response, remaining, what)
            except StoreLimitError as exc:
                raise StoreLimitError(
                    f"{self.display}: {what} larger than {MAX_LIST_BYTES} bytes in total "
                    f"({pages} page(s) read); a cap against a flooded repository"
                ) from exc
            total += len(body)
            next_url = _next_link(link, next_url)
            try:
                doc = loads_json_strict(body)
            except ValueError as exc:
                raise StoreError(f"{self.display}: {what} is not JSON") from exc
            yield doc, next_url is not None
            params = None  # the next link carries its own query

    def list_tags(self) -> list[str]:
        """Every tag of the repository (following ``Link`` pagination)."""
        tags: list[str] = []
        for doc in self._pages(f"{self.base}/tags/list", "tag list"):
            tags.extend(self._tag_page(doc) or [])
        return tags

    def _tag_page(self, doc: Any) -> list[str] | None:
        """The tags of one page of a tag list; None: the repository has none yet."""
        page = doc.get("tags") if isinstance(doc, dict) else None
        if page is None:
            return None
        if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
            raise StoreError(f"{self.display}: tag list is malformed")
        return page

    def tags_with_prefixes(self, prefixes: list[str], *, fresh: bool = False) -> list[str]:
        """Every tag starting with one of ``prefixes``.

        Read with the spec's ``n``/``last`` paging, so that only those tags are listed,
        where the registry honours it; otherwise filtered from one listing of every tag
        (Debian's docker-registry 2.8 ignores the paging and answers the whole list,
        unsorted: that answer is used as the listing when it names no next page), which is
        reused until this client writes a tag (``fresh``: never reused). Whether the registry
        pages is learnt once per process and registry.

        Raises:
            StoreError: an error answer or a malformed listing.
        """
        wanted = tuple(prefixes)
        if not wanted:
            return []
        if _PAGING.get(self.origin) is not False:
            got = self._paged_prefixes(prefixes)
            if not isinstance(got, _Unpaged):
                return got
            if got.whole is not None:
                self._whole_tags = got.whole
                fresh = False
        if self._whole_tags is None or fresh:
            self._whole_tags = self.list_tags()
        return [tag for tag in self._whole_tags if tag.startswith(wanted)]

    def _paged_prefixes(self, prefixes: list[str]) -> list[str] | _Unpaged:
        """The tags of each prefix by paging; ``_Unpaged`` once the registry shows it ignores
        the paging (remembered for the process)."""
        found: list[str] = []
        for prefix in dict.fromkeys(prefixes):
            got = self._paged_tags(prefix)
            _PAGING[self.origin] = not isinstance(got, _Unpaged)
            if isinstance(got, _Unpaged):
                return got
            found.extend(got)
        return found

    def tags_after(self, prefix: str, page: int = 100) -> list[str] | None:
        """Every tag starting with ``prefix`` by ``n``/``last`` paging; None when the registry
        ignores the paging (the caller lists every tag instead)."""
        got = self._paged_tags(prefix, page)
        return None if isinstance(got, _Unpaged) else got

    def _paged_tags(self, prefix: str, page: int = 100) -> list[str] | _Unpaged:
        """The tags starting with ``prefix``, read page by page after it; ``_Unpaged`` when
        the registry ignores the paging (with its answer when that is the whole list).

        Raises:
            StoreError: an error answer or a malformed listing.
        """
        found: list[str] = []
        last = prefix
        first = True
        for _ in range(MAX_PAGES):
            params = {"n": str(page), "last": last}
            full = False
            for doc, more in self._linked_pages(
                f"{self.base}/tags/list", "tag list", params=params
            ):
                listed = self._tag_page(doc)
                if listed is None:
                    return found
                # SECURITY: a page is read as "the tags after `last`, in order" only when it
                # is one; anything else is a registry that ignores the paging.
                if len(listed) > page or listed != sorted(listed) or any(t <= last for t in listed):
                    return _Unpaged(listed if first and not more else None)
                first = False
                found.extend(t for t in listed if t.startswith(prefix))
                if not listed or not listed[-1].startswith(prefix):
                    return found
                last, full = listed[-1], len(listed) == page
            if not full:
                return found
            # A full last page without a Link: ask again after it (some registries omit it).
        raise StoreLimitError(f"{self.display}: more than {MAX_PAGES} pages of tags for {prefix}")

    def referrers(
        self, digest: str, artifact_type: str | None = None
    ) -> list[dict[str, Any]] | None:
        """Descriptors referring to ``digest`` (OCI 1.1), of one artifact type when one is
        named; None when the API is not supported."""
        out: list[dict[str, Any]] = []
        what = f"referrers of {digest}"
        pages = self._pages(
            f"{self.base}/referrers/{digest}",
            what,
            params={"artifactType": artifact_type} if artifact_type else None,
            headers={"Accept": INDEX_TYPE},
        )
        for doc in pages:
            if doc is None:
                return None
            manifests = doc.get("manifests") if isinstance(doc, dict) else None
            if not isinstance(manifests, list):
                raise StoreError(f"{self.display}: {what} is not an image index")
            out.extend(m for m in manifests if isinstance(m, dict))
        return out


@dataclass(frozen=True)
class _Unpaged:
    """A registry's answer to a paged tag listing that was not a page."""

    whole: list[str] | None  # every tag, when that answer was the whole list


# Whether each registry (by origin) honours n/last on its tag list: learnt once per process.
_PAGING: dict[str, bool] = {}


def _next_link(link: str | None, current: str) -> str | None:
    if not link:
        return None
    match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link)
    if match is None:
        return None
    return urljoin(current, str(match.group(1)))


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."
