"""Which configured users are root: ``root``, ``0``, ``root:staff``, an empty user, and the
Windows administrator accounts. The user part decides; a root group alone does not."""

from __future__ import annotations

# Windows containers: ContainerAdministrator and SYSTEM are the administrator accounts.
_ROOT_NAMES = frozenset({"", "root", "containeradministrator", "nt authority\\system"})


def is_root_user(user: str | None) -> bool:
    name = (user or "").strip().partition(":")[0].strip().lower()
    return name in _ROOT_NAMES or (name.isdigit() and int(name) == 0)
