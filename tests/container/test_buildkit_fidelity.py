"""Dockerfiles read as BuildKit reads them, and the container rules on shapes real images use.

Each rule change has a firing case and a near-miss: quoted and substituted ``FROM`` words, one
broken instruction not hiding the rest of the file, users whose value is not in the Dockerfile,
entrypoints that drop root, literal passwords in ``RUN``, and local package repositories.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gatekeeper.audit.base import AuditContext
from gatekeeper.audit.container import ContainerAudit
from gatekeeper.collect import CollectContext, collector_for
from gatekeeper.container.dockerfile import parse_dockerfile
from gatekeeper.container.shellword import WordError, process_word
from gatekeeper.models.container import ContainerEvidence
from gatekeeper.models.finding import Finding, Severity
from gatekeeper.models.policy import Limits
from tests.container.test_audit import PIN, audit, rules

# -- word processing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "variables", "value", "unset"),
    [
        ('registry/ubi9:"${TAG}"', {"TAG": "9.4"}, "registry/ubi9:9.4", []),
        ("'$TAG'-\"$TAG\"", {"TAG": "1"}, "$TAG-1", []),
        ("\\$TAG/${TAG}", {"TAG": "1"}, "$TAG/1", []),
        ("${TAG:-latest}", {"TAG": None}, "latest", []),
        ("${TAG:-latest}", {"TAG": ""}, "latest", []),
        ("${TAG-latest}", {"TAG": ""}, "", []),
        ("x${V:+-$V}", {"V": None}, "x", []),
        ("x${V:+-$V}", {"V": "slim"}, "x-slim", []),
        ("${V#*.}|${V##*.}|${V%.*}|${V%%.*}", {"V": "1.2.3"}, "2.3|3|1.2|1", []),
        ("${V/./-}|${V//./-}", {"V": "1.2.3"}, "1-2.3|1-2-3", []),
        ("${MISSING}alpine", {}, "alpine", ["MISSING"]),
        ("$", {}, "$", []),
        ('"a\\"b"', {}, 'a"b', []),
    ],
)
def test_words_as_buildkit_processes_them(
    word: str, variables: dict[str, str | None], value: str, unset: list[str]
) -> None:
    result = process_word(word, variables)
    assert (result.value, result.unset) == (value, unset)


@pytest.mark.parametrize(
    "word", ["${}", "${:x}", "${A", "'open", '"open', "${A?needed}", "${A:?}", "${A!x}"]
)
def test_words_buildkit_rejects(word: str) -> None:
    with pytest.raises(WordError):
        process_word(word, {"B": "1"})


def test_backtick_escape_in_words() -> None:
    assert process_word("C:\\dir `$X", {"X": "1"}, "`").value == "C:\\dir $X"


# -- one broken instruction does not hide the rest --------------------------------------------

UBI = (
    "ARG UBI9_TAG=9.4\n"
    'FROM registry.access.redhat.com/ubi9/ubi-minimal:"${UBI9_TAG}"\n'
    "ADD https://example.com/tool.tgz /opt/\n"
    "USER 1001\n"
)


def test_quoted_tag_in_from_is_read_like_docker() -> None:
    df = parse_dockerfile(UBI.encode(), "Dockerfile")
    assert df.parse_error is None and df.instruction_errors == []
    assert df.stages[0].base_image == "registry.access.redhat.com/ubi9/ubi-minimal:9.4"
    found = {f.rule for f in audit(UBI)}
    assert found == {"container/unpinned-base", "container/add-remote"}


def test_a_broken_instruction_is_its_own_finding_and_the_rest_is_audited() -> None:
    text = (
        f"FROM alpine:3.20{PIN}\n"
        "FROBNICATE now\n"
        "ENV A=1 B\n"
        "ADD https://example.com/x.tgz /x\n"
        "RUN curl -k https://example.com/y\n"
        "USER app\n"
    )
    found = audit(text)
    assert sorted((f.rule, f.line) for f in found) == [
        ("container/add-remote", 4),
        ("container/insecure-fetch", 5),
        ("container/parse-error", 2),
        ("container/parse-error", 3),
    ]
    assert all(f.severity == Severity.HIGH for f in rules(found, "container/parse-error"))


def test_a_broken_from_still_starts_its_stage() -> None:
    text = (
        f"FROM golang:1.22{PIN} AS build\n"
        "USER app\n"
        "FROM ${BAD:?required} AS final\n"
        "ADD https://example.com/x.tgz /x\n"
    )
    df = parse_dockerfile(text.encode(), "Dockerfile")
    assert [e.line for e in df.instruction_errors] == [3]
    assert len(df.stages) == 2 and df.stages[1].instructions[-1].keyword == "ADD"
    found = audit(text)
    # the final stage is the broken one: its USER is unset, its base is not judged
    assert sorted((f.rule, f.line) for f in found) == [
        ("container/add-remote", 4),
        ("container/parse-error", 3),
        ("container/root-user", 3),
    ]


# -- users whose value is not in the Dockerfile ----------------------------------------------

DOTNET = (
    f"FROM mcr.microsoft.com/dotnet/aspnet:8.0{PIN}\n"
    "WORKDIR /app\n"
    "COPY --from=build /app .\n"
    "USER $APP_UID\n"
    'ENTRYPOINT ["./aspnetapp"]\n'
)


def test_user_from_the_base_image_environment_is_unknown_at_low() -> None:
    (finding,) = rules(audit(DOTNET), "container/root-user")
    assert finding.severity == Severity.LOW
    assert "unknown user" in finding.message and "APP_UID" in finding.message
    assert finding.line == 4


def test_user_from_a_build_argument_without_default_is_medium() -> None:
    text = f"FROM alpine:3.20{PIN}\nARG UID\nUSER ${{UID}}\n"
    (finding,) = rules(audit(text), "container/root-user")
    assert finding.severity == Severity.MEDIUM
    assert "--build-arg" in finding.message


@pytest.mark.parametrize(
    "text",
    [
        f"FROM alpine:3.20{PIN}\nARG UID=10001\nUSER $UID\n",
        f"FROM alpine:3.20{PIN}\nENV APP_UID=1654\nUSER $APP_UID\n",
    ],
)
def test_user_from_a_variable_with_a_value_is_judged_by_the_value(text: str) -> None:
    assert rules(audit(text), "container/root-user") == []


def test_variable_that_resolves_to_root_is_still_high() -> None:
    text = f"FROM alpine:3.20{PIN}\nENV RUNAS=0\nUSER $RUNAS\n"
    (finding,) = rules(audit(text), "container/root-user")
    assert finding.severity == Severity.HIGH


# -- entrypoints that drop root --------------------------------------------------------------

POSTGRES_LIKE = (
    f"FROM debian:bookworm-slim{PIN}\n"
    "RUN groupadd -r postgres && useradd -r -g postgres postgres\n"
    "COPY docker-entrypoint.sh /usr/local/bin/\n"
    'ENTRYPOINT ["docker-entrypoint.sh"]\n'
    'CMD ["postgres"]\n'
)
GOSU_SCRIPT = (
    "#!/usr/bin/env bash\nset -e\n"
    'if [ "$(id -u)" = "0" ]; then\n'
    '  find "$PGDATA" \\! -user postgres -exec chown postgres "{}" +\n'
    '  exec gosu postgres "$BASH_SOURCE" "$@"\n'
    "fi\n"
    'exec "$@"\n'
)


def collect_findings(root: Path) -> list[Finding]:
    evidence = collector_for("container").collect(CollectContext(repo=root))
    assert isinstance(evidence, ContainerEvidence)
    return list(ContainerAudit().run(evidence, AuditContext()))


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_entrypoint_script_that_drops_root_is_medium_with_the_reason(tmp_path: Path) -> None:
    root = write(tmp_path, {"17/Dockerfile": POSTGRES_LIKE, "17/docker-entrypoint.sh": GOSU_SCRIPT})
    (finding,) = rules(collect_findings(root), "container/root-user")
    assert finding.severity == Severity.MEDIUM
    assert "docker-entrypoint.sh" in finding.message and "gosu" in finding.message


@pytest.mark.parametrize(
    ("entrypoint", "tool"),
    [
        ('["su-exec", "app", "/app/server"]', "su-exec"),
        ('["/sbin/tini", "--", "gosu", "app", "/app/server"]', "gosu"),
        ("setpriv --reuid=app --regid=app --init-groups /app/server", "setpriv"),
        ('["chroot", "--userspec=app:app", "/", "/app/server"]', "chroot --userspec"),
        ("runuser -u app -- /app/server", "runuser"),
        ("su app -s /bin/sh -c /app/server", "su -c"),
    ],
)
def test_inline_privilege_drop(tmp_path: Path, entrypoint: str, tool: str) -> None:
    text = f"FROM alpine:3.20{PIN}\nENTRYPOINT {entrypoint}\n"
    (finding,) = rules(
        collect_findings(write(tmp_path, {"Dockerfile": text})), "container/root-user"
    )
    assert finding.severity == Severity.MEDIUM and tool in finding.message


@pytest.mark.parametrize(
    "script",
    [
        '#!/bin/sh\n# we could use gosu here\nexec "$@"\n',  # a comment is not a command
        '#!/bin/sh\necho "run me with gosu"\nexec "$@"\n',
        '#!/bin/sh\nexec "$@"\n',
    ],
)
def test_entrypoint_that_keeps_root_stays_high(tmp_path: Path, script: str) -> None:
    root = write(tmp_path, {"Dockerfile": POSTGRES_LIKE, "docker-entrypoint.sh": script})
    (finding,) = rules(collect_findings(root), "container/root-user")
    assert finding.severity == Severity.HIGH


def test_entrypoint_script_through_a_symlink_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, {"docker-entrypoint.sh": GOSU_SCRIPT})
    root = write(tmp_path / "repo", {"Dockerfile": POSTGRES_LIKE})
    os.symlink(outside / "docker-entrypoint.sh", root / "docker-entrypoint.sh")
    (finding,) = rules(collect_findings(root), "container/root-user")
    assert finding.severity == Severity.HIGH


def test_entrypoint_copied_from_another_stage_is_not_guessed(tmp_path: Path) -> None:
    text = POSTGRES_LIKE.replace("COPY docker-entrypoint.sh", "COPY --from=tools /e.sh")
    root = write(tmp_path, {"Dockerfile": text, "docker-entrypoint.sh": GOSU_SCRIPT})
    (finding,) = rules(collect_findings(root), "container/root-user")
    assert finding.severity == Severity.HIGH


# -- literal passwords in RUN ----------------------------------------------------------------

CHOSEN = "Xk29sLq7vB"  # a made-up value to hand to chpasswd, passwd, htpasswd


@pytest.mark.parametrize(
    "run",
    [
        f'RUN echo "root:{CHOSEN}" | chpasswd',
        f"RUN echo 'app:{CHOSEN}' | sudo chpasswd",
        f"RUN chpasswd <<< 'app:{CHOSEN}'",
        f'RUN echo -e "{CHOSEN}\\n{CHOSEN}" | passwd app',
        f"RUN useradd -m -p '$6$saltsalt${CHOSEN}Q1w2E3r4T5y6' app",
        f"RUN usermod --password={CHOSEN} app",
        f"RUN htpasswd -bc /etc/nginx/.htpasswd admin {CHOSEN}",
        f"RUN htpasswd -nb admin '{CHOSEN}' > /etc/htpasswd",
        f'RUN ["/bin/sh", "-c", "echo root:{CHOSEN} | chpasswd"]',
        f"RUN <<EOF\nset -e\necho 'root:{CHOSEN}' | chpasswd\nEOF",
    ],
)
def test_literal_password_in_run_is_a_secret_in_build(run: str) -> None:
    text = f"FROM alpine:3.20{PIN}\n{run}\nUSER app\n"
    (finding,) = rules(audit(text), "container/secret-in-build")
    assert finding.severity == Severity.HIGH and finding.line == 2
    assert CHOSEN not in finding.message
    evidence = parse_dockerfile(text.encode(), "Dockerfile").model_dump_json()
    assert CHOSEN not in evidence  # redacted before anything is printed or signed


@pytest.mark.parametrize(
    "run",
    [
        'RUN echo "root:$ROOT_PASSWORD" | chpasswd',
        "RUN --mount=type=secret,id=pw chpasswd < /run/secrets/pw",
        'RUN echo "app:$(cat /run/secrets/pw)" | chpasswd',
        "RUN passwd -d root",
        "RUN useradd -m -p '*' app",
        'RUN useradd -p "$(openssl passwd -6 "$PW")" app',
        "RUN htpasswd -c /etc/nginx/.htpasswd admin",
        'RUN htpasswd -b /etc/nginx/.htpasswd admin "$ADMIN_PASSWORD"',
        "RUN echo 'root:changeme' | chpasswd",
        "RUN echo 'root:root' | chpasswd",
    ],
)
def test_password_near_misses(run: str) -> None:
    text = f"FROM alpine:3.20{PIN}\n{run}\nUSER app\n"
    assert rules(audit(text), "container/secret-in-build") == []


# -- local package repositories --------------------------------------------------------------

DEB_LOCAL = (
    "RUN tempDir=$(mktemp -d) && cd $tempDir && apt-get source nginx && "
    "dpkg-scanpackages . > Packages && "
    'echo "deb [ trusted=yes ] file://$tempDir ./" > /etc/apt/sources.list.d/temp.list && '
    "apt-get update && apt-get install -y nginx"
)
APK_LOCAL = (
    "RUN abuild-keygen -a -i -n && make && "
    "apk index --allow-untrusted -o /tmp/packages/APKINDEX.tar.gz /tmp/packages/*.apk && "
    "abuild-sign -k /tmp/.abuild/key.rsa /tmp/packages/APKINDEX.tar.gz && "
    "apk add -X /tmp/packages/ --no-cache nginx"
)


@pytest.mark.parametrize("run", [DEB_LOCAL, APK_LOCAL])
def test_local_repository_built_in_the_same_run_is_not_insecure(run: str) -> None:
    text = f"FROM debian:bookworm{PIN}\n{run}\nUSER app\n"
    assert rules(audit(text), "container/insecure-fetch") == []


@pytest.mark.parametrize(
    "run",
    [
        DEB_LOCAL.replace("file://$tempDir", "http://mirror.example.com/debian"),
        DEB_LOCAL.replace("dpkg-scanpackages . > Packages && ", ""),  # nothing built here
        APK_LOCAL + " && apk add --allow-untrusted https://example.com/x.apk",
        APK_LOCAL.replace("abuild-sign -k /tmp/.abuild/key.rsa", "ls"),  # index left unsigned
        DEB_LOCAL + " && curl -k https://example.com/x",
    ],
)
def test_local_repository_near_misses_still_fire(run: str) -> None:
    text = f"FROM debian:bookworm{PIN}\n{run}\nUSER app\n"
    assert len(rules(audit(text), "container/insecure-fetch")) == 1


# -- templates -------------------------------------------------------------------------------


def test_generator_template_is_noted_not_reported(tmp_path: Path) -> None:
    template = '{{ include "shared" -}}\nFROM oraclelinux:{{ .variant }}\nRUN {{ .install }}\n'
    heredoc = f"FROM alpine:3.20{PIN}\nCOPY <<EOF /t.tmpl\n{{{{ .Name }}}}\nEOF\nUSER app\n"
    root = write(tmp_path, {"Dockerfile.oracle": template, "Dockerfile": heredoc})
    evidence = collector_for("container").collect(CollectContext(repo=root))
    assert isinstance(evidence, ContainerEvidence)
    assert [d.path for d in evidence.dockerfiles] == ["Dockerfile"]  # the heredoc is audited
    assert any("Dockerfile.oracle is a template" in n for n in evidence.notes)
    assert json.loads(evidence.model_dump_json())["dockerfiles"][0]["instruction_errors"] == []


def test_fragment_without_from_is_noted_but_a_typo_in_a_real_file_is_reported(
    tmp_path: Path,
) -> None:
    fragment = "ENV DOTNET_RUNNING_IN_CONTAINER=true \\\n    APP_UID=1654\n"
    typo = f"FROM alpine:3.20{PIN}\nRUNN make\nUSER app\n"
    root = write(tmp_path, {"eng/Dockerfile.envs": fragment, "Dockerfile": typo})
    evidence = collector_for("container").collect(CollectContext(repo=root))
    assert isinstance(evidence, ContainerEvidence)
    assert [d.path for d in evidence.dockerfiles] == ["Dockerfile"]
    assert any("eng/Dockerfile.envs has no FROM" in n for n in evidence.notes)
    findings = list(ContainerAudit().run(evidence, AuditContext()))
    assert [(f.rule, f.line) for f in findings] == [("container/parse-error", 2)]


@pytest.mark.parametrize(
    "text",
    [
        "FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled\nCOPY app /app\n",
        "FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-azurelinux3.0-distroless AS base\n"
        'FROM base\nENTRYPOINT ["/app"]\n',
        "ARG TAG=nonroot\nFROM gcr.io/distroless/static-debian12:${TAG}\nCOPY app /app\n",
        "FROM gcr.io/distroless/base:debug-nonroot\nCOPY app /app\n",
    ],
)
def test_base_image_published_as_non_root_is_an_unknown_user_at_low(text: str) -> None:
    (finding,) = rules(audit(text), "container/root-user")
    assert finding.severity == Severity.LOW and "non-root" in finding.message


@pytest.mark.parametrize(
    "text",
    [
        "FROM gcr.io/distroless/static-debian12\nCOPY app /app\n",  # distroless runs as root
        "FROM mcr.microsoft.com/dotnet/aspnet:8.0\nCOPY app /app\n",  # the Debian image too
        "FROM example.com/nonroot/app:1.0\nCOPY app /app\n",  # a name, not the tag
        "FROM gcr.io/distroless/static:nonroot\nUSER root\n",  # an explicit root USER wins
    ],
)
def test_base_image_near_misses_stay_high(text: str) -> None:
    (finding,) = rules(audit(text), "container/root-user")
    assert finding.severity == Severity.HIGH


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # an export stage (`docker build --output`): files, nothing that runs
        (
            f"FROM golang:1.22{PIN} AS build\nRUN go build\nFROM scratch AS out\nCOPY --from=build /a /\n",
            Severity.LOW,
        ),
        # a static binary on scratch runs as uid 0
        (
            f'FROM golang:1.22{PIN} AS build\nFROM scratch\nCOPY --from=build /a /a\nENTRYPOINT ["/a"]\n',
            Severity.HIGH,
        ),
        # the base is whatever the build passes: its user is unknown here
        ("ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY app /app\n", Severity.MEDIUM),
        # a default names the base: judged as that image
        (f"ARG BASE_IMAGE=alpine:3.20{PIN}\nFROM $BASE_IMAGE\nCOPY app /app\n", Severity.HIGH),
    ],
)
def test_root_user_on_scratch_and_on_a_base_named_by_a_build_argument(
    text: str, severity: Severity
) -> None:
    (finding,) = rules(audit(text), "container/root-user")
    assert finding.severity == severity


def test_an_oversized_or_undecodable_file_without_from_is_still_a_parse_error(
    tmp_path: Path,
) -> None:
    root = write(tmp_path, {})
    (root / "Dockerfile").write_bytes(b"\0" * 4096)
    (root / "Dockerfile.latin1").write_bytes(b"RUN echo \xff\n")
    evidence = collector_for("container").collect(
        CollectContext(repo=root, limits=Limits(max_file_bytes=1024))
    )
    assert isinstance(evidence, ContainerEvidence)
    errors = {d.path: d.parse_error for d in evidence.dockerfiles}
    assert set(errors) == {"Dockerfile", "Dockerfile.latin1"}
    assert all(e is not None for e in errors.values())
