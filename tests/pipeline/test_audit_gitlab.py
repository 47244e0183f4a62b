"""GitLab CI includes: remote and cross-project includes need a pinned ref."""

from __future__ import annotations

from tests.pipeline.conftest import Scan, rules

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_unpinned_includes_fire(scan: Scan) -> None:
    findings = scan(
        {
            ".gitlab-ci.yml": f"""
        include:
          - remote: https://example.com/ci/template.yml
          - 'https://example.com/other.yml'
          - project: group/ci-templates
            file: /build.yml
          - project: group/ci-templates
            ref: main
            file: [/a.yml, /b.yml]
          - component: $CI_SERVER_FQDN/group/comp/build@~latest
          - project: group/pinned
            ref: {SHA}
            file: /build.yml
          - remote: https://example.com/raw/{SHA}/ci.yml
          - remote: https://example.com/ci/locked.yml
            integrity: sha256-L6ZyXS5ci0JvR1/qp+XIXgWXG6MDVE+aJbnyGn+MHsk=
          - component: $CI_SERVER_FQDN/group/comp/test@1.4.2
          - template: Security/SAST.gitlab-ci.yml
          - local: /ci/jobs.yml
        build:
          script: [make]
    """,
            "ci/jobs.yml": "lint:\n  script: [make lint]\n",
        }
    )
    hits = rules(findings, "pipeline/gitlab-unpinned-include")
    assert sorted((f.line, f.severity.value) for f in hits) == [
        (2, "medium"),
        (3, "medium"),
        (4, "medium"),
        (6, "medium"),
        (9, "medium"),
    ]


def test_a_ref_beside_a_remote_include_is_not_its_integrity(scan: Scan) -> None:
    # GitLab pins a remote include by `integrity:` only; `ref:` means nothing there.
    findings = scan(
        {
            ".gitlab-ci.yml": """
        include:
          - remote: https://example.com/ci/template.yml
            ref: sha256-L6ZyXS5ci0JvR1/qp+XIXgWXG6MDVE+aJbnyGn+MHsk=
        build:
          script: [make]
    """
        }
    )
    hits = rules(findings, "pipeline/gitlab-unpinned-include")
    assert [f.line for f in hits] == [2]


def test_a_token_in_a_remote_include_url_is_not_printed(scan: Scan) -> None:
    token = "glpat-" + "Zq8xLm4Rp7Tw2Vb9Kd3F"  # assembled: no literal token in the repository
    findings = scan(
        {
            ".gitlab-ci.yml": f"""
        include:
          - remote: https://ci-bot:{token}@gitlab.example.com/g/p/-/raw/main/ci.yml
        build:
          script: [make]
    """
        }
    )
    (hit,) = rules(findings, "pipeline/gitlab-unpinned-include")
    assert token not in hit.message and "ci-bot" not in hit.message
    assert "https://***@gitlab.example.com/g/p/-/raw/main/ci.yml" in hit.message


def test_local_include_is_followed_and_audited(scan: Scan) -> None:
    findings = scan(
        {
            ".gitlab-ci.yml": "include:\n  - local: ci/*.yml\nstages: [build]\n",
            "ci/build.yml": "build:\n  image: alpine\n  script:\n    - curl -s https://x.io/i | sh\n",
            "ci/more.yml": f"include:\n  - project: g/p\n    ref: {SHA}\n    file: x.yml\n",
        }
    )
    assert [(f.path, f.line) for f in rules(findings, "pipeline/remote-script")] == [
        ("ci/build.yml", 4)
    ]
    assert rules(findings, "pipeline/gitlab-unpinned-include") == []


def test_missing_local_include_and_malformed_include(scan: Scan) -> None:
    findings = scan({".gitlab-ci.yml": "include:\n  - local: /ci/missing.yml\nb:\n  script: [x]\n"})
    errors = rules(findings, "pipeline/parse-error")
    assert [(f.line, "missing.yml" in f.message) for f in errors] == [(2, True)]
    findings = scan({".gitlab-ci.yml": "include:\n  - {file: x.yml}\n"})
    assert [f.line for f in rules(findings, "pipeline/parse-error")] == [2]


def test_reference_tags_and_anchors_parse(scan: Scan) -> None:
    findings = scan(
        {
            ".gitlab-ci.yml": """
        .setup: &setup
          - apt-get update
        .base:
          before_script: *setup
        test:
          extends: .base
          script:
            - !reference [.base, before_script]
            - pytest
    """
        }
    )
    assert rules(findings, "pipeline/parse-error") == []


def test_gitlab_images_without_digest_are_unpinned(scan: Scan) -> None:
    digest = "sha256:" + "c" * 64
    findings = scan(
        {
            ".gitlab-ci.yml": f"""
        default:
          image: python:3.12
        build:
          image:
            name: registry.example.com/builder@{digest}
          script: [make]
        test:
          image: $CI_REGISTRY_IMAGE/test:latest
          script: [make test]
        lint:
          image: node:20
          script: [npm run lint]
    """
        }
    )
    hits = sorted((f.line, f.severity.value) for f in rules(findings, "pipeline/unpinned-image"))
    assert hits == [(2, "low"), (11, "low")]


def test_long_form_variables_are_audited(scan: Scan) -> None:
    findings = scan(
        {
            ".gitlab-ci.yml": """
        variables:
          DEPLOY_TOKEN:
            value: "Zx81-kQ2m-Pl0v-99Ab"
            description: the deploy token
          GIT_SSL_NO_VERIFY:
            value: "1"
          DB_PASSWORD:
            value: $CI_DB_PASSWORD
        build:
          script: [make]
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/hardcoded-credentials")] == [2]
    assert [f.line for f in rules(findings, "pipeline/insecure-fetch")] == [5]


def test_block_scripts_report_the_exact_line(scan: Scan) -> None:
    findings = scan(
        {
            ".gitlab-ci.yml": """
        build:
          script:
            - |
              echo start
              curl -fsSL https://x.io/install.sh | sh
            - make
        deploy:
          script: |
            echo deploy
            wget --no-check-certificate https://x/a
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/remote-script")] == [5]
    assert [f.line for f in rules(findings, "pipeline/insecure-fetch")] == [10]


# -- YAML caps sized for real configurations ------------------------------------------------


def _rules_file(conditions: int, uses: int) -> str:
    """A GitLab rules file in the shape of GitLab's own: anchored `if:` conditions and change
    patterns, merged (`<<: *if-...`) and referenced (`changes: *...`) by hundreds of rules."""
    lines = [".if-templates:"]
    lines += [
        f"  .if-{i}: &if-{i}\n    if: '$CI_PIPELINE_SOURCE == \"s{i}\"'" for i in range(conditions)
    ]
    lines.append(".patterns:")
    lines.append("  .code-patterns: &code-patterns")
    lines += [f"    - 'app/dir{i}/**/*'" for i in range(60)]
    for job in range(uses):
        lines.append(f".rules:job-{job}:\n  rules:")
        for k in range(4):
            lines.append(f"    - <<: *if-{(job + k) % conditions}\n      changes: *code-patterns")
    lines.append("build:\n  extends: .rules:job-0\n  script: [make]")
    return "\n".join(lines) + "\n"


def test_a_rules_file_with_thousands_of_aliases_parses(scan: Scan) -> None:
    """GitLab's own rules file holds about 1,300 aliases in one document (docs/limits.md)."""
    text = _rules_file(conditions=80, uses=400)  # 3,200 aliases, ~100,000 expanded nodes
    assert text.count("*") >= 3200
    findings = scan({".gitlab-ci.yml": text})
    assert rules(findings, "pipeline/parse-error") == []


def test_an_alias_bomb_is_still_a_parse_error_at_once(scan: Scan) -> None:
    lines = ["a0: &a0 [x, y, z, w]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    findings = scan({".gitlab-ci.yml": "\n".join(lines) + "\n"})
    (error,) = rules(findings, "pipeline/parse-error")
    assert "expands to more than" in error.message
