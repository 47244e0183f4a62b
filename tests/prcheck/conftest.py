"""A local HTTP server standing in for the GitHub REST API, and pull-request repositories."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import git
import pytest

from tests.conftest import commit_files

TOKEN = "test-token-5f1c9a7e3b2d"  # noqa: S105 - a fake, not in any real token format
OWNER_REPO = "acme/widget"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FakeGitHub:
    """Routes by (method, path); a queue of scripted replies per route comes first."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.scripted: dict[tuple[str, str], list[Reply]] = {}
        self.reviews_pages: list[list[dict[str, Any]]] = [[]]
        self.check_run_id = 4242
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def script(self, method: str, path: str, *replies: Reply) -> None:
        self.scripted.setdefault((method, path), []).extend(replies)

    def route(self, method: str, path: str) -> Reply:
        queue = self.scripted.get((method, path))
        if queue:
            return queue.pop(0)
        base = f"/repos/{OWNER_REPO}"
        if method == "POST" and path.startswith(f"{base}/statuses/"):
            return Reply(201, {"id": 1, "state": "ok"})
        if method == "POST" and path == f"{base}/check-runs":
            return Reply(201, {"id": self.check_run_id})
        if method == "PATCH" and path == f"{base}/check-runs/{self.check_run_id}":
            return Reply(200, {"id": self.check_run_id})
        if method == "GET" and path.startswith(f"{base}/pulls/") and "/reviews" in path:
            page = int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])
            headers = {}
            if page < len(self.reviews_pages):
                number = path.split("/pulls/")[1].split("/")[0]
                headers["Link"] = (
                    f"<{self.url}{base}/pulls/{number}/reviews?per_page=100&"
                    f'page={page + 1}>; rel="next", <{self.url}/x>; rel="last"'
                )
            return Reply(200, self.reviews_pages[page - 1], headers)
        return Reply(404, {"message": "Not Found"})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake.requests.append(
                    Recorded(
                        self.command,
                        self.path,
                        dict(self.headers),
                        json.loads(raw) if raw else None,
                    )
                )
                reply = fake.route(self.command, self.path)
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def github_token() -> str:
    # Built at run time so that this file holds no token-shaped literal.
    return "ghp_" + "Zq7Rk2Lm9Xw4Tn8Vb3Hc6Jd1Fs5Gp0Ay2Ue4"


@dataclass
class PullRequest:
    repo: git.Repo
    path: Path
    base: str
    head: str
    event_path: Path


def make_event(
    tmp_path: Path,
    base: str,
    head: str,
    *,
    number: int = 7,
    author: str = "dev1",
    fork: bool = False,
) -> Path:
    event = {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "title": "a change",
            "user": {"login": author, "id": 1},
            "base": {"sha": base, "ref": "main", "repo": {"full_name": OWNER_REPO}},
            "head": {
                "sha": head,
                "ref": "feature",
                "repo": {"full_name": "mallory/widget" if fork else OWNER_REPO},
            },
        },
        "repository": {"full_name": OWNER_REPO, "private": False},
        "sender": {"login": author},
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return path


@pytest.fixture
def pull_request(git_repo: git.Repo, tmp_path: Path) -> PullRequest:
    """main has a token already (existing); the feature branch adds a new one (blocking)."""
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"old.env": f"TOKEN={github_token()}\n"}, "old token")
    base = git_repo.head.commit.hexsha
    git_repo.git.checkout("-b", "feature")
    new_token = github_token()[:-6] + "QQ77rr"
    commit_files(git_repo, {"src/app.env": f"API={new_token}\n", "notes.txt": "x\n"}, "feature")
    head = git_repo.head.commit.hexsha
    return PullRequest(git_repo, root, base, head, make_event(tmp_path, base, head))


@pytest.fixture
def clean_pull_request(git_repo: git.Repo, tmp_path: Path) -> PullRequest:
    """main has a token (existing); the feature branch changes nothing risky."""
    root = Path(git_repo.working_tree_dir or ".")
    commit_files(git_repo, {"old.env": f"TOKEN={github_token()}\n"}, "old token")
    base = git_repo.head.commit.hexsha
    git_repo.git.checkout("-b", "feature")
    commit_files(git_repo, {"docs/readme.txt": "more docs\n"}, "docs")
    head = git_repo.head.commit.hexsha
    return PullRequest(git_repo, root, base, head, make_event(tmp_path, base, head))
