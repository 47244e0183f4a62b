"""Which configured users are root: ``root``, ``0``, ``root:staff``, an empty user, and the
Windows administrator accounts. The user part decides; a root group alone does not.

And whether an entrypoint drops root before it runs the service (``privilege_drop``)."""

from __future__ import annotations

import re

# Windows containers: ContainerAdministrator and SYSTEM are the administrator accounts.
_ROOT_NAMES = frozenset({"", "root", "containeradministrator", "nt authority\\system"})


def is_root_user(user: str | None) -> bool:
    name = (user or "").strip().partition(":")[0].strip().lower()
    return name in _ROOT_NAMES or (name.isdigit() and int(name) == 0)


# A command that runs what follows as another user: gosu USER, su-exec USER,
# setpriv --reuid=USER, runuser -u USER, chroot --userspec=USER:GROUP, su USER -c '...'.
_DROP_COMMANDS = (
    ("gosu", re.compile(r"gosu[ \t]+\S")),
    ("su-exec", re.compile(r"su-exec[ \t]+\S")),
    ("setpriv", re.compile(r"setpriv[ \t][^\n;&|]*--reuid")),
    ("runuser", re.compile(r"runuser[ \t][^\n;&|]*(?:-u[ \t=]|--user|-c\b|\S[ \t]+-c\b)")),
    ("chroot --userspec", re.compile(r"chroot[ \t][^\n;&|]*--userspec")),
    ("su -c", re.compile(r"su[ \t][^\n;&|]*(?:-c|--command)\b")),
)
# Where a command starts: the start of a line or of a JSON word, after exec, ;, &&, || or |.
_COMMAND_START = r"(?:^|(?<=[;&|\n\"'])|(?<=\bexec[ \t]))[ \t]*(?:/[\w./-]*/)?"


def privilege_drop(text: str) -> str | None:
    """The command in ``text`` (an entrypoint or its script) that switches to another user.

    A mention in a comment or an echo does not count: the command must start a line or a
    command (after ``exec``, ``;``, ``&&``, ``||`` or ``|``), as in ``exec gosu postgres "$@"``.
    """
    for name, pattern in _DROP_COMMANDS:
        if re.search(_COMMAND_START + pattern.pattern, text, re.MULTILINE):
            return name
    return None


# Base images published to run as a non-root user when the Dockerfile sets no USER: a tag
# naming it (distroless `:nonroot`, `:debug-nonroot`, and the like), and Microsoft's .NET
# chiseled and distroless images (user `app`, uid 1654).
_NONROOT_TAG = re.compile(r"(?:^|[-_.])nonroot(?:$|[-_.])")
_DOTNET_NONROOT = re.compile(r"^mcr\.microsoft\.com/dotnet/[^:@]+:[^@]*(?:chiseled|distroless)")


def nonroot_base(image: str) -> str | None:
    """Why ``image`` (as written in ``FROM``) runs as a non-root user by default, or None."""
    name, _, tag = image.partition("@")[0].rpartition(":")
    if name and "/" not in tag and _NONROOT_TAG.search(tag):
        return f"its tag {tag!r} is published to run as a non-root user"
    if _DOTNET_NONROOT.match(image):
        return ".NET chiseled and distroless images run as the non-root user app (uid 1654)"
    return None
