"""Jenkins rules over real declarative and scripted Jenkinsfiles."""

from __future__ import annotations

from pathlib import Path

from tests.pipeline.conftest import Scan, rules

DECLARATIVE = (Path(__file__).parent / "data" / "declarative_jenkinsfile.groovy").read_text()


def test_secret_interpolation_fires_only_on_groovy_interpolation(scan: Scan) -> None:
    findings = scan({"Jenkinsfile": DECLARATIVE})
    hits = rules(findings, "pipeline/jenkins-secret-interpolation")
    assert sorted((f.line, f.severity.value) for f in hits) == [
        (17, "high"),
        (21, "high"),
        (21, "high"),
        (26, "high"),
    ]
    assert {
        m
        for f in hits
        for m in ("API_TOKEN", "REG_USER", "REG_PASS", "DEPLOY_USR")
        if m in f.message
    } == {"API_TOKEN", "REG_USER", "REG_PASS", "DEPLOY_USR"}


def test_param_injection(scan: Scan) -> None:
    findings = scan({"Jenkinsfile": DECLARATIVE})
    hits = rules(findings, "pipeline/jenkins-param-injection")
    # params.TARGET fires; BUILD_NUMBER and the boolean DRY_RUN do not
    assert [(f.line, "params.TARGET" in f.message) for f in hits] == [(26, True)]


def test_scripted_pipeline_scm_env_and_concatenation(scan: Scan) -> None:
    findings = scan(
        {
            "ci/release.jenkinsfile": """
        node('linux') {
          checkout scm
          sh "git tag -a ${env.BRANCH_NAME}-release -m 'r'"
          sh("echo ${CHANGE_TITLE}")
          sh(script: 'make deploy TARGET=' + params.ENV, returnStatus: true)
          bat label: 'build', script: "build.cmd ${env.BUILD_ID}"
          sh 'echo "$BRANCH_NAME"'
          def branch = "${env.BRANCH_NAME}"
          echo "building ${env.BRANCH_NAME}"
        }
    """
        }
    )
    hits = rules(findings, "pipeline/jenkins-param-injection")
    assert [f.line for f in hits] == [3, 4, 5]


def test_unpinned_libraries(scan: Scan) -> None:
    findings = scan(
        {
            "Jenkinsfile": """
        @Library('pinned-tag@v1.4.0') _
        @Library(['by-sha@0123456789abcdef0123456789abcdef01234567', 'no-version']) x
        @Library('on-branch@main') y
        library 'dynamic-lib'
        library identifier: 'retrieved@1.2.3', retriever: modernSCM([$class: 'GitSCMSource'])
        library "interp@${params.REF}"
        node { sh 'make' }
    """
        }
    )
    hits = rules(findings, "pipeline/jenkins-unpinned-library")
    assert sorted((f.line, f.severity.value) for f in hits) == [
        (2, "medium"),
        (3, "medium"),
        (4, "medium"),
        (6, "medium"),
    ]


def test_comments_and_strings_do_not_confuse_the_tokenizer(scan: Scan) -> None:
    findings = scan(
        {
            "Jenkinsfile": """
        // sh "curl ${params.X}"   <- a comment, not a step
        /* library 'commented-out' */
        pipeline {
          agent any
          stages {
            stage('a') {
              steps {
                echo 'sh "${params.X}" is only text here'
                sh 'echo ${params.X}'
              }
            }
          }
        }
    """
        }
    )
    assert findings == []


def test_malformed_jenkinsfile_is_a_parse_error_with_line(scan: Scan) -> None:
    findings = scan(
        {
            "Jenkinsfile": "pipeline {\n  agent any\n  stages {\n    stage('x') {\n  }\n}\n",
            "Jenkinsfile.nightly": "node {\n  sh '''\n",
        }
    )
    errors = {f.path: f.line for f in rules(findings, "pipeline/parse-error")}
    assert errors == {"Jenkinsfile": 1, "Jenkinsfile.nightly": 2}


def test_hostile_nesting_and_step_floods_are_parse_errors(scan: Scan) -> None:
    deep = "node {\n" + "sh(" * 300 + "'x'" + ")" * 300 + "\n}\n"
    flood = "node {\n" + "sh 'make'\n" * 20_001 + "}\n"
    findings = scan({"Jenkinsfile": deep, "ci/flood.jenkinsfile": flood})
    errors = {f.path: f for f in rules(findings, "pipeline/parse-error")}
    assert set(errors) == {"Jenkinsfile", "ci/flood.jenkinsfile"}
    assert "nested deeper" in errors["Jenkinsfile"].message
    assert errors["Jenkinsfile"].line == 2
    assert errors["ci/flood.jenkinsfile"].line == 20_002


def test_environment_set_from_a_parameter_carries_the_taint(scan: Scan) -> None:
    findings = scan(
        {
            "Jenkinsfile": """
        pipeline {
          agent any
          parameters { string(name: 'VERSION', defaultValue: '1.0') }
          environment {
            RELEASE = "v${params.VERSION}"
            STATIC = 'prod'
            BUILD_TAG2 = "${env.BUILD_NUMBER}"
          }
          stages {
            stage('tag') {
              steps {
                sh "git tag ${RELEASE}"
                sh "echo ${env.RELEASE} ${STATIC} ${BUILD_TAG2}"
                sh 'git tag "$RELEASE"'
              }
            }
          }
        }
    """
        }
    )
    hits = rules(findings, "pipeline/jenkins-param-injection")
    assert [(f.line, "params.VERSION" in f.message) for f in hits] == [(12, True), (13, True)]


def test_choice_and_boolean_parameters_cannot_inject(scan: Scan) -> None:
    findings = scan(
        {
            "Jenkinsfile": """
        pipeline {
          agent any
          parameters {
            choice(name: 'REGION', choices: ['eu', 'us'])
            booleanParam(name: 'FORCE', defaultValue: false)
            text(name: 'NOTES', defaultValue: '')
          }
          stages {
            stage('d') {
              steps {
                sh "deploy --region ${params.REGION} --force=${params.FORCE}"
                sh "echo ${params.NOTES}"
              }
            }
          }
        }
    """
        }
    )
    assert [f.line for f in rules(findings, "pipeline/jenkins-param-injection")] == [12]


def test_shared_library_steps_sh(scan: Scan) -> None:
    findings = scan(
        {
            "vars/deploy.groovy": """
        def call(Map config) {
          withCredentials([string(credentialsId: 'token', variable: 'TOKEN')]) {
            steps.sh "curl -H 'X-Token: ${TOKEN}' https://deploy.example"
            this.sh 'curl -H "X-Token: $TOKEN" https://deploy.example'
            logger.sh "${TOKEN}"
          }
        }
    """
        }
    )
    hits = rules(findings, "pipeline/jenkins-secret-interpolation")
    assert [f.line for f in hits] == [3]
