"""One definition of risky shell text serves pipeline/ and container/ rules alike."""

from __future__ import annotations

import pytest

from gatekeeper.audit._shellrisk import insecure_fetch, remote_script


@pytest.mark.parametrize(
    ("text", "switch"),
    [
        ("curl -sk https://example.com/x", "curl"),
        ("wget --no-check-certificate https://example.com/x", "--no-check-certificate"),
        ("apk add --allow-untrusted pkg.apk", "--allow-untrusted"),
        ("echo 'deb [trusted=yes] http://mirror/ stable main' > sources.list", "trusted=yes"),
        ("helm install --insecure-skip-tls-verify x ./chart", "--insecure-skip-tls-verify"),
        ("PYTHONHTTPSVERIFY=0 python fetch.py", "PYTHONHTTPSVERIFY=0"),
    ],
)
def test_switches_fire_and_are_named(text: str, switch: str) -> None:
    label = insecure_fetch(text)
    assert label is not None and switch in label


@pytest.mark.parametrize(
    "text",
    [
        "helm install --insecure-skip-tls-verify=false x ./chart",
        "curl -fsSL -o k https://example.com/a",
        "make -k && curl https://example.com",
        "npm config set strict-ssl true",
    ],
)
def test_switch_near_misses(text: str) -> None:
    assert insecure_fetch(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "curl -fsSL https://get.example.com | sh",
        "wget -qO- https://x.example/install | sudo bash -s --",
        'sh -c "$(curl -fsSL https://x.example/i.sh)"',
        "bash <(curl -s https://x.example/i.sh)",
        "iex (iwr https://x.example/i.ps1)",
        "http https://x.example/i.sh | bash",
    ],
)
def test_remote_scripts_fire(text: str) -> None:
    assert remote_script(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "curl -fsSLo install.sh https://x.example/i.sh && sha256sum -c i.sha256 && sh install.sh",
        "echo curl | grep sh",
        "curl https://x.example/data.json | jq .",
    ],
)
def test_remote_script_near_misses(text: str) -> None:
    assert remote_script(text) is None
