"""The Dockerfile parser: real syntax, every instruction with its line, errors with lines."""

from __future__ import annotations

import json

import pytest

from gatekeeper.container.dockerfile import expand, parse_dockerfile
from gatekeeper.models.container import Dockerfile, ParseError


def parse(text: str) -> Dockerfile:
    return parse_dockerfile(text.encode(), "Dockerfile")


def ok(text: str) -> Dockerfile:
    result = parse(text)
    assert result.parse_error is None, result.parse_error
    assert result.instruction_errors == [], result.instruction_errors
    return result


def first_error(result: Dockerfile) -> ParseError | None:
    """The file-level error, else the first instruction BuildKit would reject."""
    if result.parse_error is not None:
        return result.parse_error
    return result.instruction_errors[0] if result.instruction_errors else None


def test_directives_continuations_and_comments_inside_them() -> None:
    df = ok(
        "# syntax=docker/dockerfile:1.7\n"
        "# check=skip=JSONArgsRecommended\n"
        "FROM alpine:3.20\n"
        "RUN apk add --no-cache \\\n"
        "    # a comment in the middle is dropped\n"
        "\n"
        "    curl \\\n"
        "    git\n"
        "USER 1000\n"
    )
    assert df.directives == {"syntax": "docker/dockerfile:1.7", "check": "skip=JSONArgsRecommended"}
    run = df.stages[0].instructions[1]
    assert (run.keyword, run.line, run.end_line) == ("RUN", 4, 8)
    assert run.args.split() == ["apk", "add", "--no-cache", "curl", "git"]
    assert df.stages[0].instructions[2].line == 9


def test_directive_after_a_comment_is_just_a_comment() -> None:
    df = ok("# hello\n# escape=`\nFROM alpine\nRUN echo a \\\n  b\n")
    assert df.directives == {}
    # The backslash stays the escape, so the continuation joins.
    assert df.stages[0].instructions[1].end_line == 5


def test_backtick_escape_for_windows_paths() -> None:
    df = ok(
        "# escape=`\n"
        "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
        "COPY testfile.txt c:\\\n"
        "RUN dir c:\\ `\n"
        "    && echo done\n"
        "USER ContainerUser\n"
    )
    copy, run = df.stages[0].instructions[1:3]
    assert copy.args == "testfile.txt c:\\"
    assert (run.line, run.end_line) == (4, 5)
    assert "echo done" in run.args


def test_invalid_escape_directive() -> None:
    result = parse("# escape=x\nFROM alpine\n")
    assert result.parse_error is not None and result.parse_error.line == 1


def test_duplicate_directive() -> None:
    result = parse("# syntax=a\n# syntax=b\nFROM alpine\n")
    assert result.parse_error is not None and "twice" in result.parse_error.message


def test_heredocs_several_and_quoted_and_tab_stripping() -> None:
    df = ok(
        "FROM debian:12\n"
        "RUN <<EOF\n"
        "apt-get update\n"
        "apt-get install -y curl\n"
        "EOF\n"
        "RUN <<-'SCRIPT' bash && cat <<\"NOTE\"\n"
        "\techo $HOME\n"
        "\tSCRIPT\n"
        "a note\n"
        "NOTE\n"
        "COPY <<CONF /etc/app.conf\n"
        "key = value\n"
        "CONF\n"
        "USER app\n"
    )
    first, second, copy, user = df.stages[0].instructions[1:]
    assert first.heredocs[0].body == "apt-get update\napt-get install -y curl\n"
    assert (first.line, first.end_line) == (2, 5)
    assert [h.delimiter for h in second.heredocs] == ["SCRIPT", "NOTE"]
    assert second.heredocs[0].body == "echo $HOME\n" and second.heredocs[0].strip_tabs
    assert second.heredocs[1].body == "a note\n"
    assert copy.keyword == "COPY" and copy.heredocs[0].body == "key = value\n"
    assert user.line == 14


def test_here_string_is_not_a_heredoc() -> None:
    df = ok("FROM alpine\nRUN cat <<< 'hello'\nUSER 1\n")
    assert df.stages[0].instructions[1].heredocs == []


def test_unterminated_heredoc_names_its_line() -> None:
    result = parse("FROM alpine\n\nRUN <<EOF\necho hi\n")
    error = first_error(result)
    assert error is not None and error.line == 3
    assert "not terminated" in error.message
    assert [i.keyword for i in result.stages[0].instructions] == ["FROM"]


def test_exec_and_shell_forms() -> None:
    df = ok(
        "FROM alpine\n"
        'SHELL ["/bin/ash", "-eo", "pipefail", "-c"]\n'
        'ENTRYPOINT ["/app", "--flag"]\n'
        'CMD echo "not json"\n'
        "RUN [ -f /x ] && echo yes\n"
    )
    shell, entry, cmd, run = df.stages[0].instructions[1:]
    assert shell.exec_form == ["/bin/ash", "-eo", "pipefail", "-c"]
    assert entry.exec_form == ["/app", "--flag"]
    assert cmd.exec_form is None
    assert run.exec_form is None  # a test expression, not JSON


def test_shell_needs_json() -> None:
    result = parse("FROM alpine\nSHELL /bin/sh -c\n")
    error = first_error(result)
    assert error is not None and error.line == 2


def test_arg_before_from_and_substitution_forms() -> None:
    df = ok(
        "ARG REGISTRY=ghcr.io/acme\n"
        "ARG VARIANT\n"
        "ARG TAG=1.2\n"
        "FROM ${REGISTRY}/base:${TAG} AS a\n"
        "FROM $REGISTRY/other:${VARIANT:-slim} AS b\n"
        "FROM ghcr.io/acme/x${VARIANT:+-$VARIANT}:1 AS c\n"
        "FROM ${MISSING}alpine AS d\n"
    )
    assert [s.base_image for s in df.stages] == [
        "ghcr.io/acme/base:1.2",
        "ghcr.io/acme/other:slim",
        "ghcr.io/acme/x:1",
        None,
    ]
    assert df.stages[3].unresolved == ["MISSING"]
    assert [a.key for a in df.global_args] == ["REGISTRY", "VARIANT", "TAG"]
    assert [i.keyword for i in df.preamble] == ["ARG", "ARG", "ARG"]


def test_expand_escape_and_defaults() -> None:
    assert expand("\\$HOME/${A-x}/${B:-y}", {"A": "", "B": ""}) == ("$HOME//y", [])
    assert expand("${A}", {"A": None}) == ("", ["A"])


def test_multistage_named_stages_platform_and_copy_from() -> None:
    df = ok(
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n"
        "WORKDIR /src\n"
        "RUN go build -o /out/app .\n"
        "FROM build AS test\n"
        "RUN go test ./...\n"
        "FROM gcr.io/distroless/static:nonroot\n"
        "COPY --from=build /out/app /app\n"
        "USER nonroot:nonroot\n"
    )
    build, test, final = df.stages
    assert build.name == "build" and build.platform == "$BUILDPLATFORM"
    assert test.base_stage == 0
    assert final.name is None and final.base_stage is None
    assert final.instructions[1].flags == ["--from=build"]
    assert final.user == "nonroot:nonroot" and final.user_line == 8


def test_user_from_arg_default_and_inherited_from_stage() -> None:
    df = ok(
        "ARG UID=10001\n"
        "FROM alpine:3 AS base\n"
        "ARG UID\n"
        "ARG NAME=svc\n"
        "USER ${NAME}\n"
        "FROM base\n"
        "RUN echo inherits the user\n"
    )
    assert df.stages[0].user == "svc"
    assert df.stages[1].user == "svc" and df.stages[1].user_line == 5


def test_user_from_arg_without_default_is_unresolved() -> None:
    df = ok("FROM alpine\nARG RUNAS\nUSER $RUNAS\n")
    assert df.stages[0].user == "" and df.stages[0].user_unresolved == ["RUNAS"]


def test_env_forms_and_onbuild() -> None:
    df = ok(
        "FROM alpine\n"
        'ENV A=1 B="two words" C=three\\ words\n'
        "ENV LEGACY value with spaces\n"
        'LABEL org.opencontainers.image.title="demo"\n'
        "ONBUILD RUN make\n"
        "ONBUILD COPY . /src\n"
    )
    env, legacy, label, onrun, oncopy = df.stages[0].instructions[1:]
    assert [(p.key, p.value) for p in env.pairs] == [
        ("A", "1"),
        ("B", "two words"),
        ("C", "three words"),
    ]
    assert [(p.key, p.value) for p in legacy.pairs] == [("LEGACY", "value with spaces")]
    assert label.pairs[0].value == "demo"
    assert (onrun.keyword, onrun.onbuild) == ("RUN", True)
    assert (oncopy.keyword, oncopy.onbuild) == ("COPY", True)


def test_secret_values_are_redacted_in_the_evidence() -> None:
    token = "glpat-" + "x1Y2z3W4v5U6t7S8r9Q0"
    df = ok(
        f"FROM alpine\nENV GITLAB_TOKEN={token}\nRUN git clone https://ci:{token}@gitlab.example.com/r.git\n"
    )
    dumped = json.dumps(df.model_dump())
    assert token not in dumped
    pair = df.stages[0].instructions[1].pairs[0]
    assert pair.secret is not None and pair.secret.reason == "gitlab-token"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "no instructions"),
        ("# only a comment\n", 1, "no instructions"),
        ("RUN echo hi\nFROM alpine\n", 1, "before the first FROM"),
        ("ARG A=1\n\nARG B\n", 3, "no FROM"),
        ("FROM alpine\nFROBNICATE x\n", 2, "unknown instruction"),
        ("FROM alpine\nRUN\n", 2, "RUN requires arguments"),
        ("FROM alpine AS\n", 1, "FROM takes an image"),
        ("FROM alpine AS a b\n", 1, "FROM takes an image"),
        ("FROM alpine AS 1bad\n", 1, "invalid stage name"),
        ("FROM alpine AS a\nFROM alpine AS A\n", 2, "duplicate stage name"),
        ("FROM Alpine:Latest!\n", 1, "invalid"),
        ("FROM alpine\nCOPY --form=build /a /b\n", 2, "unknown flag"),
        ('FROM alpine\nENV A="unterminated\n', 2, "unterminated"),
        ("FROM alpine\nENV =x\n", 2, "empty name"),
        ("FROM alpine\nENV A=1 B\n", 2, "not NAME=value"),
        ("FROM alpine\nONBUILD ONBUILD RUN x\n", 2, "ONBUILD ONBUILD"),
        ("FROM alpine\nONBUILD FROM x\n", 2, "not allowed"),
        ("FROM alpine\nARG 9x=1\n", 2, "invalid name"),
    ],
)
def test_parse_errors_carry_the_line(text: str, line: int, fragment: str) -> None:
    result = parse(text)
    error = first_error(result)
    assert error is not None, text
    assert error.line == line
    assert fragment in error.message
    if result.parse_error is not None:
        assert result.stages == []  # the file as a whole cannot be read


def test_invalid_utf8_and_size_limit() -> None:
    bad = parse_dockerfile(b"FROM alpine\nRUN echo \xff\n", "Dockerfile")
    assert bad.parse_error is not None and bad.parse_error.line == 2
    big = parse_dockerfile(b"FROM alpine\n" + b"#" * 2000, "Dockerfile", max_bytes=1000)
    assert big.parse_error is not None and "limit" in big.parse_error.message


def test_crlf_and_bom() -> None:
    df = ok("\ufeffFROM alpine:3\r\nRUN echo a \\\r\n  b\r\nUSER 1\r\n")
    assert df.stages[0].instructions[1].end_line == 3
    assert df.stages[0].user == "1"


def test_tabs_separate_keywords_and_flags() -> None:
    df = ok("FROM\talpine:3\tAS\tbase\nRUN\t--mount=type=cache,target=/c\techo hi\nUSER\tapp\n")
    run = df.stages[0].instructions[1]
    assert (df.stages[0].name, run.flags, run.args) == (
        "base",
        ["--mount=type=cache,target=/c"],
        "echo hi",
    )
    assert df.stages[0].user == "app"


def test_heredoc_marker_inside_quotes_is_text() -> None:
    df = ok("FROM alpine\nRUN echo \"<<EOF\" 'and <<END'\nUSER app\n")
    run = df.stages[0].instructions[1]
    assert run.heredocs == [] and run.end_line == 2
    assert df.stages[0].user == "app"
