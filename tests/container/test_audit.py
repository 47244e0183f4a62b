"""The container/ rules: each fires, each has near-misses that must not, malformed input blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.audit import all_rules
from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.container import ContainerAudit
from gatekeeper.container.dockerfile import parse_dockerfile
from gatekeeper.container.image import read_image
from gatekeeper.models.container import ContainerEvidence
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.policy import AuditsPolicy
from tests.container.imagebuild import make_config, make_layer, write_oci_layout

PIN = "@sha256:" + "b" * 64


def audit(
    text: str, *, allowed: list[str] | None = None, path: str = "Dockerfile"
) -> list[Finding]:
    evidence = ContainerEvidence(dockerfiles=[parse_dockerfile(text.encode(), path)])
    ctx = AuditContext(policy=AuditsPolicy(allowed_registries=allowed or []))
    return list(ContainerAudit().run(evidence, ctx))


def rules(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def test_rule_ids_and_default_severities_match_the_catalogue() -> None:
    assert ContainerAudit.rules == {
        "container/parse-error": Severity.HIGH,
        "container/root-user": Severity.HIGH,
        "container/unpinned-base": Severity.MEDIUM,
        "container/latest-tag": Severity.MEDIUM,
        "container/add-remote": Severity.MEDIUM,
        "container/secret-in-build": Severity.HIGH,
        "container/remote-script": Severity.MEDIUM,
        "container/insecure-fetch": Severity.MEDIUM,
        "container/untrusted-registry": Severity.HIGH,
    }
    assert set(ContainerAudit.rules) <= set(all_rules())


# -- parse-error ---------------------------------------------------------------------------


def test_parse_error_fires_with_line_and_the_rest_is_audited() -> None:
    findings = audit("FROM alpine\nUSER app\nRUN <<EOF\necho never closed\n")
    assert sorted((f.rule, f.line) for f in findings) == [
        ("container/latest-tag", 1),
        ("container/parse-error", 3),
        ("container/unpinned-base", 1),
    ]
    assert {f.severity for f in findings if f.rule == "container/parse-error"} == {Severity.HIGH}


def test_file_level_parse_error_is_the_only_finding() -> None:
    findings = audit("# escape=x\nFROM alpine\nRUN curl -k https://x | sh\n")
    assert [(f.rule, f.line) for f in findings] == [("container/parse-error", 1)]


def test_clean_dockerfile_has_no_findings() -> None:
    assert audit(f"FROM alpine:3.20{PIN}\nRUN apk add --no-cache curl\nUSER 10001\n") == []


# -- root-user -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"FROM alpine:3{PIN}\nRUN true\n", 1),
        (f"FROM alpine:3{PIN}\nUSER root\n", 2),
        (f"FROM alpine:3{PIN}\nUSER 0\n", 2),
        (f"FROM alpine:3{PIN}\nUSER root:root\n", 2),
        (f"FROM alpine:3{PIN}\nUSER 0:0\n", 2),
        (f"FROM alpine:3{PIN}\nUSER 00\n", 2),
        (
            "# escape=`\nFROM mcr.microsoft.com/windows/nanoserver:ltsc2022"
            + PIN
            + "\nUSER ContainerAdministrator\n",
            3,
        ),
        (f"FROM alpine:3{PIN}\nUSER app\nRUN x\nUSER root\n", 4),
        (f"FROM alpine:3{PIN}\nARG RUNAS=root\nUSER ${{RUNAS}}\n", 3),
        (f"ARG RUNAS=0\nFROM alpine:3{PIN}\nARG RUNAS\nUSER $RUNAS\n", 4),
        (f"FROM alpine:3{PIN}\nARG RUNAS\nUSER $RUNAS\n", 3),
        # an earlier stage drops privileges, the final one does not
        (
            f"FROM alpine:3{PIN} AS build\nUSER app\nFROM alpine:3{PIN}\nCOPY --from=build /a /a\n",
            3,
        ),
    ],
)
def test_root_user_fires(text: str, line: int) -> None:
    found = rules(audit(text), "container/root-user")
    assert [f.line for f in found] == [line]


@pytest.mark.parametrize(
    "text",
    [
        f"FROM alpine:3{PIN}\nUSER app\n",
        f"FROM alpine:3{PIN}\nUSER 1000:0\n",  # group root, user not root
        f"FROM alpine:3{PIN}\nUSER 10\n",
        f"FROM alpine:3{PIN}\nUSER ContainerUser\n",
        f"FROM alpine:3{PIN}\nUSER rooty\n",
        f"FROM alpine:3{PIN}\nUSER root\nRUN apk add x\nUSER 10001\n",  # root only while building
        f"FROM alpine:3{PIN}\nARG RUNAS=app\nUSER ${{RUNAS}}\n",
        f"FROM alpine:3{PIN} AS base\nUSER app\nFROM base\nRUN true\n",  # inherited USER
        f"FROM alpine:3{PIN}\nUSER app\nONBUILD USER root\n",  # a trigger for downstream builds
    ],
)
def test_root_user_near_misses(text: str) -> None:
    assert rules(audit(text), "container/root-user") == []


def test_root_user_fingerprint_survives_line_moves() -> None:
    a = rules(audit(f"FROM alpine:3{PIN}\nUSER root\n"), "container/root-user")
    b = rules(audit(f"FROM alpine:3{PIN}\n\nRUN true\nUSER root\n"), "container/root-user")
    assert a[0].fingerprint == b[0].fingerprint and a[0].line != b[0].line


def test_root_user_of_a_dockerfile_that_is_only_from_is_low() -> None:
    # sigstore/cosign keeps such a file for Dependabot; CI reads the Go version out of it.
    text = "# the Go version for CI\nFROM golang:1.26.5\n"
    (found,) = rules(audit(text), "container/root-user")
    assert found.severity is Severity.LOW and found.line == 2
    assert "only `FROM golang:1.26.5`: it adds nothing to that image" in found.message
    assert rules(audit("ARG V=1.26\nFROM golang:$V\n"), "container/root-user")[0].severity == (
        Severity.LOW
    )


@pytest.mark.parametrize(
    "text",
    [
        'FROM golang:1.26.5\nCMD ["go", "version"]\n',
        "FROM golang:1.26.5\nRUN go install example.org/tool@v1\n",
        "FROM golang:1.26.5\nUSER root\n",
        "FROM golang:1.26.5 AS go\nFROM go\n",  # two stages: not a version pin
    ],
)
def test_root_user_of_a_dockerfile_that_adds_anything_stays_high(text: str) -> None:
    (found,) = rules(audit(text), "container/root-user")
    assert found.severity is Severity.HIGH


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("tests/openssh_server/Dockerfile", "tests/"),
        ("pkg/e2e/fixtures/bridge/Dockerfile", "e2e/"),
        ("internal/testdata/TestBuildTags/Dockerfile", "testdata/"),
        ("images/test-ubuntu-git.Dockerfile", "test-ubuntu-git.Dockerfile"),
    ],
)
def test_root_user_of_a_test_image_is_medium_and_says_why(path: str, marker: str) -> None:
    text = f"FROM alpine:3{PIN}\nUSER root\n"
    (found,) = rules(audit(text, path=path), "container/root-user")
    (shipped,) = rules(audit(text), "container/root-user")
    assert found.severity is Severity.MEDIUM
    assert f"(high lowered to medium: under a test path ({marker}):" in found.message
    assert found.fingerprint != shipped.fingerprint  # the path is part of the identity
    assert shipped.severity is Severity.HIGH and "lowered" not in shipped.message


@pytest.mark.parametrize(
    "path",
    [
        "Dockerfile",
        "docker/release/Dockerfile",
        "examples/app/Dockerfile",  # users copy examples: a root example is still high
        "docs/Dockerfile",
        "contest/Dockerfile",  # a word containing "test" is not a test path
    ],
)
def test_root_user_outside_test_paths_stays_high(path: str) -> None:
    (found,) = rules(audit(f"FROM alpine:3{PIN}\nRUN true\n", path=path), "container/root-user")
    assert found.severity is Severity.HIGH


def test_test_path_lowers_only_root_user_and_parse_error() -> None:
    text = (
        "FROM alpine\nRUN curl -fsSL https://get.example.org/install.sh | sh\nWRONG instruction\n"
    )
    findings = audit(text, path="tests/fixtures/broken/Dockerfile", allowed=["ghcr.io"])
    severity = {f.rule: f.severity for f in findings}
    assert severity["container/parse-error"] is Severity.LOW
    assert severity["container/root-user"] is Severity.MEDIUM
    assert severity["container/untrusted-registry"] is Severity.HIGH  # the policy asked
    assert severity["container/remote-script"] is Severity.MEDIUM
    (parse,) = rules(findings, "container/parse-error")
    assert "(high lowered to low: under a test path (tests/):" in parse.message
    assert "unknown instruction 'WRONG'" in parse.message


def test_medium_root_user_in_a_test_path_is_not_raised_or_relabelled() -> None:
    text = f"FROM alpine:3{PIN}\nARG RUNAS\nUSER $RUNAS\n"
    (found,) = rules(audit(text, path="tests/Dockerfile"), "container/root-user")
    assert found.severity is Severity.MEDIUM and "lowered" not in found.message


# -- unpinned-base and latest-tag ----------------------------------------------------------


def test_unpinned_base_and_latest_tag_fire() -> None:
    findings = audit(
        "FROM python:3.12 AS build\nFROM ubuntu\nFROM ghcr.io/acme/app:latest\nUSER app\n"
    )
    assert [f.line for f in rules(findings, "container/unpinned-base")] == [1, 2, 3]
    assert [f.line for f in rules(findings, "container/latest-tag")] == [2, 3]


def test_base_from_unresolvable_arg_is_unpinned() -> None:
    findings = audit("ARG BASE\nFROM ${BASE}\nUSER app\n")
    assert [f.line for f in rules(findings, "container/unpinned-base")] == [2]
    assert rules(findings, "container/latest-tag") == []


@pytest.mark.parametrize(
    "text",
    [
        f"FROM golang:1.22{PIN} AS build\nFROM build AS test\nFROM scratch\n"
        "COPY --from=build /a /a\nUSER 1\n",
        f"ARG BASE=alpine:3.20{PIN}\nFROM ${{BASE}}\nUSER 1\n",
        f"FROM python{PIN}\nUSER 1\n",  # digest, no tag: pinned, so not "latest" either
        f"FROM localhost:5000/team/app:1.0{PIN}\nUSER 1\n",
    ],
)
def test_pinning_near_misses(text: str) -> None:
    findings = audit(text)
    assert rules(findings, "container/unpinned-base") == []
    assert rules(findings, "container/latest-tag") == []


def test_tag_named_like_latest_is_not_latest() -> None:
    findings = audit("FROM node:latest-alpine\nFROM node:20-latest\nUSER 1\n")
    assert rules(findings, "container/latest-tag") == []
    assert len(rules(findings, "container/unpinned-base")) == 2


# -- add-remote ----------------------------------------------------------------------------


def test_add_remote_fires() -> None:
    findings = audit(
        f"FROM alpine:3{PIN}\n"
        "ADD https://example.com/tool.tar.gz /opt/\n"
        'ADD ["http://example.com/a", "/a"]\n'
        "ADD git@github.com:acme/repo.git /src\n"
        "ONBUILD ADD https://example.com/b /b\n"
        "USER 1\n"
    )
    assert [f.line for f in rules(findings, "container/add-remote")] == [2, 3, 4, 5]


def test_add_remote_near_misses() -> None:
    findings = audit(
        f"FROM alpine:3{PIN}\n"
        "ADD tool.tar.gz /opt/\n"
        "ADD --chown=1:1 ./https/ /srv/\n"
        "COPY ./docs/https-setup.md /docs/\n"
        "RUN echo https://example.com\n"
        "USER 1\n"
    )
    assert rules(findings, "container/add-remote") == []


# -- secret-in-build -----------------------------------------------------------------------


def test_secret_in_build_fires_and_never_shows_the_secret() -> None:
    aws = "AKIA" + "Q3HV7PLM7KEYZ2WT"
    password = "S3cr3t-" + "Pa55w0rd-9x!"  # assembled: the repository's own check stays clean
    text = (
        f"ARG NPM_TOKEN=npm_{'a1B2c3D4e5' * 3}f6G7h8\n"
        f"FROM alpine:3{PIN}\n"
        f"ENV AWS_ACCESS_KEY_ID={aws} APP=1\n"
        f"ARG DB_PASSWORD={password}\n"
        "COPY id_rsa /root/.ssh/id_rsa\n"
        "COPY --chown=app .npmrc /home/app/\n"
        "ADD secrets/server.key /etc/ssl/\n"
        "USER app\n"
    )
    findings = rules(audit(text), "container/secret-in-build")
    assert [f.line for f in findings] == [1, 3, 4, 5, 6, 7]
    for finding in findings:
        assert aws not in finding.message and password not in finding.message
    assert any("AKIA…(20 chars)" in f.message for f in findings)


@pytest.mark.parametrize(
    "line",
    [
        "ARG NPM_TOKEN",  # a build argument with no literal
        "ENV TOKEN=${NPM_TOKEN}",
        "ENV PASSWORD_FILE=/run/secrets/db_password",
        "ENV API_KEY=changeme",
        "ENV SECRET_KEY=<your-secret-here>",
        "ENV AUTH_USER=service-account",
        "ENV TOKEN_URL=https://auth.example.com/token",
        "ENV PASSWORD=aaaaaaaaaaaa",
        "RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci",
        "COPY id_rsa.pub /root/.ssh/authorized_keys",
        "COPY .npmrc.example /app/",
        "COPY . /app",
        "ENV GIT_SHA=3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c",
    ],
)
def test_secret_in_build_near_misses(line: str) -> None:
    findings = audit(f"FROM alpine:3{PIN}\n{line}\nUSER app\n")
    assert rules(findings, "container/secret-in-build") == []


# -- remote-script and insecure-fetch ------------------------------------------------------


@pytest.mark.parametrize(
    "run",
    [
        "RUN curl -fsSL https://get.example.com | sh",
        "RUN wget -qO- https://example.com/install.sh | sudo -E bash -s -- --yes",
        "RUN apt-get update && curl https://sh.rustup.rs -sSf | sh -s -- -y",
        "RUN bash <(curl -s https://example.com/i.sh)",
        'RUN sh -c "$(curl -fsSL https://example.com/i.sh)"',
        'RUN ["/bin/sh", "-c", "curl -s https://example.com/x | bash"]',
        "RUN <<EOF\nset -e\ncurl -sL https://example.com/x | python3 -\nEOF",
        "RUN curl -sL https://example.com/x \\\n    | bash",
    ],
)
def test_remote_script_fires(run: str) -> None:
    findings = audit(f"FROM alpine:3{PIN}\n{run}\nUSER app\n")
    assert [f.line for f in rules(findings, "container/remote-script")] == [2]


@pytest.mark.parametrize(
    "run",
    [
        "RUN curl -fsSLo /tmp/i.sh https://example.com/i.sh && sha256sum -c i.sha && sh /tmp/i.sh",
        "RUN curl -fsSL https://example.com/x.tar.gz | tar -xz -C /opt",
        "RUN curl -fsSL https://example.com/key.gpg | gpg --dearmor -o /usr/share/keyrings/k.gpg",
        "RUN echo 'curl is installed' | tee /etc/motd",
        "RUN ./configure && make | tee build.log",
    ],
)
def test_remote_script_near_misses(run: str) -> None:
    findings = audit(f"FROM alpine:3{PIN}\n{run}\nUSER app\n")
    assert rules(findings, "container/remote-script") == []


@pytest.mark.parametrize(
    ("run", "switch"),
    [
        ("RUN curl -k https://example.com/a -o a", "curl -k"),
        ("RUN curl -fsSLk https://example.com/a -o a", "curl -k"),
        ("RUN curl --insecure -O https://example.com/a", "--insecure"),
        ("RUN wget --no-check-certificate https://example.com/a", "--no-check-certificate"),
        ("RUN pip install --trusted-host pypi.example.com flask", "--trusted-host"),
        ("RUN yum install -y --nogpgcheck pkg", "--nogpgcheck"),
        ("RUN apt-get install -y --allow-unauthenticated pkg", "--allow-unauthenticated"),
        ("RUN npm config set strict-ssl false", "strict-ssl false"),
        ("RUN GIT_SSL_NO_VERIFY=1 git clone https://example.com/r.git", "GIT_SSL_NO_VERIFY"),
        ("RUN git config --global http.sslVerify false", "http.sslVerify false"),
        ("RUN apk add --allow-untrusted /tmp/x.apk", "--allow-untrusted"),
        (
            "RUN <<EOF\nexport NODE_TLS_REJECT_UNAUTHORIZED=0\nnpm ci\nEOF",
            "NODE_TLS_REJECT_UNAUTHORIZED=0",
        ),
    ],
)
def test_insecure_fetch_fires(run: str, switch: str) -> None:
    found = rules(audit(f"FROM alpine:3{PIN}\n{run}\nUSER app\n"), "container/insecure-fetch")
    assert len(found) == 1 and switch in found[0].message and found[0].line == 2


@pytest.mark.parametrize(
    "line",
    [
        "RUN curl -fsSL -o k https://example.com/a",  # -o takes 'k' as its argument
        "RUN curl -H 'X-Insecure: no' https://example.com",
        "RUN GIT_SSL_NO_VERIFY=0 git clone https://example.com/r.git",
        "RUN npm config set strict-ssl true",
        "RUN helm install --insecure-skip-tls-verify=false x ./chart",
        "RUN kubectl version --client --insecure-ok-flag-name",
        "ENV GIT_SSL_NO_VERIFY=1",  # not inside a RUN (the rule is about RUN)
        "RUN echo k -k",
    ],
)
def test_insecure_fetch_near_misses(line: str) -> None:
    findings = audit(f"FROM alpine:3{PIN}\n{line}\nUSER app\n")
    assert rules(findings, "container/insecure-fetch") == []


# -- untrusted-registry --------------------------------------------------------------------


def test_untrusted_registry_fires_only_with_a_list() -> None:
    text = (
        f"FROM python:3.12{PIN} AS build\n"
        f"FROM quay.io/evil/img:1{PIN} AS tools\n"
        f"FROM ghcr.io/acme/base:1{PIN}\n"
        f"FROM ghcr.io/acmecorp/base:1{PIN}\n"
        "USER app\n"
    )
    assert rules(audit(text), "container/untrusted-registry") == []
    found = rules(audit(text, allowed=["ghcr.io/acme"]), "container/untrusted-registry")
    assert [f.line for f in found] == [1, 2, 4]  # docker.io implicit for bare names
    found = rules(
        audit(text, allowed=["ghcr.io/acme/", "docker.io", "quay.io/evil"]),
        "container/untrusted-registry",
    )
    assert [f.line for f in found] == [4]


def test_untrusted_registry_near_misses() -> None:
    text = (
        f"FROM index.docker.io/library/alpine:3{PIN} AS a\n"
        f"FROM alpine:3{PIN} AS b\n"
        "FROM a AS c\n"
        "FROM scratch\n"
        "USER 1\n"
    )
    assert rules(audit(text, allowed=["docker.io/library"]), "container/untrusted-registry") == []


def test_untrusted_registry_unresolvable_base_fires_when_listed() -> None:
    text = "ARG REG\nFROM ${REG}/app:1\nUSER 1\n"
    assert [
        f.line for f in rules(audit(text, allowed=["ghcr.io/acme"]), "container/untrusted-registry")
    ] == [2]
    # A variable after an allowed namespace cannot move the image out of it.
    text = f"FROM ghcr.io/acme/app-${{TARGETARCH}}:1{PIN}\nUSER 1\n"
    findings = audit(text, allowed=["ghcr.io/acme"])
    assert rules(findings, "container/untrusted-registry") == []
    assert rules(findings, "container/unpinned-base") == []  # the digest is literal
    text = "FROM ghcr.io/acmecorp${SUFFIX}/app:1\nUSER 1\n"
    assert rules(audit(text, allowed=["ghcr.io/acme"]), "container/untrusted-registry")


# -- images --------------------------------------------------------------------------------


def image_findings(
    tmp_path: Path, allowed: list[str] | None = None, **kwargs: object
) -> list[Finding]:
    layers = kwargs.pop("layers", None)
    annotations = kwargs.pop("annotations", None)
    write_oci_layout(
        tmp_path / "img",
        config=make_config(**kwargs),  # type: ignore[arg-type]
        layers=layers,
        manifest_annotations=annotations,
    )  # type: ignore[arg-type]
    ref = f"oci:{tmp_path / 'img'}"
    evidence = ContainerEvidence(image=read_image(ref))
    ctx = AuditContext(policy=AuditsPolicy(allowed_registries=allowed or []))
    return list(ContainerAudit().run(evidence, ctx))


@pytest.mark.parametrize("user", [None, "", "root", "0", "0:0", "root:wheel"])
def test_image_running_as_root_fires_without_any_dockerfile(
    tmp_path: Path, user: str | None
) -> None:
    found = rules(image_findings(tmp_path, user=user), "container/root-user")
    assert len(found) == 1 and found[0].path == f"oci:{tmp_path / 'img'}"


@pytest.mark.parametrize("user", ["app", "65532", "1000:0"])
def test_image_with_a_user_does_not_fire(tmp_path: Path, user: str) -> None:
    assert rules(image_findings(tmp_path, user=user), "container/root-user") == []


def test_image_secrets_env_history_and_layer_files(tmp_path: Path) -> None:
    # A token of real shape: `xoxb-1234567890-abcdefghij` is a placeholder, for every family.
    token = "xoxb-" + "2918374650-Qm7ZkR2vX9pLtW4n"
    findings = image_findings(
        tmp_path,
        user="app",
        env=["PATH=/bin", f"SLACK_TOKEN={token}", "API_KEY_FILE=/run/secrets/k"],
        history=[{"created_by": "|1 DB_PASSWORD=Zq8-r2Lw0p-Xy77 /bin/sh -c make"}],
        labels={"ci.deploy.token": "glpat-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn", "version": "1.0"},
        layers=[make_layer({"root/.aws/credentials": b"[default]\n", "etc/ssl/x.key": b"k"})],
    )
    found = rules(findings, "container/secret-in-build")
    messages = sorted(f.message for f in found)
    assert len(found) == 4
    assert all(
        token not in m and "Zq8-r2Lw0p-Xy77" not in m and "glpat-Ab1" not in m for m in messages
    )
    assert any("label entry ci.deploy.token" in m for m in messages)
    assert any("root/.aws/credentials" in m for m in messages)
    assert not any("x.key" in m for m in messages)  # layers: unambiguous names only


def test_image_without_secrets(tmp_path: Path) -> None:
    findings = image_findings(
        tmp_path, user="app", env=["PATH=/bin", "LANG=C.UTF-8", "TOKEN_URL=https://auth/x"]
    )
    assert rules(findings, "container/secret-in-build") == []


def test_image_base_annotation_and_allowed_registries(tmp_path: Path) -> None:
    notes = {"org.opencontainers.image.base.name": "quay.io/other/base:1"}
    assert rules(
        image_findings(tmp_path / "a", user="app", annotations=notes, allowed=["ghcr.io/acme"]),
        "container/untrusted-registry",
    )
    assert not rules(
        image_findings(tmp_path / "b", user="app", annotations=notes, allowed=["quay.io"]),
        "container/untrusted-registry",
    )
    assert not rules(
        image_findings(tmp_path / "c", user="app", annotations=notes),
        "container/untrusted-registry",
    )


def test_secret_in_run_text_heredoc_and_label() -> None:
    npm = "npm_" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa"
    url_password = "Xk29-" + "vLq8-Rr0pZ"  # split so the repository's own check has no secret
    text = (
        f"FROM alpine:3{PIN}\n"
        f"RUN npm config set //registry.npmjs.org/:_authToken={npm} && npm ci\n"
        "COPY <<EOF /root/.pypirc\n"
        "[pypi]\npassword = pypi-AgEIcHlwaS5vcmcCJGE0ZjY0MTIyLWRmZWMtNDQ5Ni1iNTk"
        "4ZC1hMjE0YjM4NDJjNzIAAixbMSxbInByb2plY3QiXV0AAAYgQ2x6T2dQbWRlN3BLczRrWHVN\n"
        "EOF\n"
        f"RUN pip install --index-url https://ci:{url_password}@pypi.example.com/simple app\n"
        f"LABEL com.example.deploy-token={npm}\n"
        "USER app\n"
    )
    found = rules(audit(text), "container/secret-in-build")
    assert [f.line for f in found] == [2, 3, 7, 8]
    assert all(npm not in f.message and url_password not in f.message for f in found)


@pytest.mark.parametrize(
    "line",
    [
        'LABEL org.opencontainers.image.authors="Jane Developer <jane@example.com>"',
        'ENV AUTHOR="Jane Q. Developer"',
        "RUN git clone https://ci:${GIT_TOKEN}@git.example.com/r.git",
        "RUN echo 'set password in /run/secrets/db' > /README",
        "COPY <<EOF /etc/app.conf\nlisten = 8080\nEOF",
    ],
)
def test_secret_text_near_misses(line: str) -> None:
    findings = audit(f"FROM alpine:3{PIN}\n{line}\nUSER app\n")
    assert rules(findings, "container/secret-in-build") == []


def test_image_secret_in_entrypoint_or_cmd_is_a_finding_not_only_redacted(
    tmp_path: Path,
) -> None:
    # No history (a crafted or squashed image): the config's command is the only place.
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    found = rules(
        image_findings(
            tmp_path,
            history=[],
            entrypoint=["/app", f"--token={token}"],
            cmd=["--db-password=Zq8vN3kLp0wXy7Rt", "--verbose"],
        ),
        "container/secret-in-build",
    )
    assert sorted(f.message.split(" holds")[0].rsplit(": ", 1)[1] for f in found) == [
        "command entry Cmd[0]",
        "command entry Entrypoint[1]",
    ]
    assert all(token not in f.message and "Zq8vN3kLp0wXy7Rt" not in f.message for f in found)
    clean = rules(
        image_findings(tmp_path / "ok", cmd=["--password-file=/run/secrets/db", "--port=8080"]),
        "container/secret-in-build",
    )
    assert clean == []
