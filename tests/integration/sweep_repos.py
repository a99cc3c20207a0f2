"""Generated git repositories with planted Stripe-format keys, for the sweep tests and benchmark."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Sweep Test",
    "GIT_AUTHOR_EMAIL": "sweep@example.com",
    "GIT_COMMITTER_NAME": "Sweep Test",
    "GIT_COMMITTER_EMAIL": "sweep@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={**os.environ, **_GIT_ENV},
    )


def make_repo(path: Path, secrets: list[str], *, filler_files: int = 2) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for i in range(filler_files):
        (path / f"module_{i}.py").write_text(f"def f{i}():\n    return {i}\n" * 20)
    if secrets:
        (path / "settings.py").write_text(
            "".join(f"STRIPE_KEY_{i} = '{s}'\n" for i, s in enumerate(secrets))
        )
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def commit_secret(repo: Path, name: str, secret: str) -> None:
    (repo / name).write_text(f"API_KEY = '{secret}'\n")
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}")


def corrupt_repo(path: Path) -> Path:
    """A repository whose object store and HEAD are garbage."""
    make_repo(path, [])
    objects = path / ".git" / "objects"
    for obj in objects.rglob("*"):
        if obj.is_file():
            obj.chmod(0o644)
            obj.write_bytes(b"\x00garbage\xff" * 8)
    (path / ".git" / "HEAD").write_text("not a ref\n")
    return path
