"""Real repositories built with the git CLI, each commit dated so provenance is exact."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from tests.support.keys import stripe_key

AUTHOR = ("Ada Lovelace", "ada@example.com")
BASE_TIME = 1_700_000_000


class Builder:
    """Runs git in one repository with a clock that advances one hour per commit."""

    def __init__(self, path: Path, *, bare: bool = False) -> None:
        self.path = path
        self.tick = 0
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main", *(["--bare"] if bare else []))

    def env(self) -> dict[str, str]:
        when = f"@{BASE_TIME + 3600 * self.tick} +0000"
        return {
            **os.environ,
            "GIT_AUTHOR_NAME": AUTHOR[0],
            "GIT_AUTHOR_EMAIL": AUTHOR[1],
            "GIT_COMMITTER_NAME": AUTHOR[0],
            "GIT_COMMITTER_EMAIL": AUTHOR[1],
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_DATE": when,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
        }

    def git(self, *args: str, input: bytes | None = None) -> str:
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args],
            check=True,
            capture_output=True,
            env=self.env(),
            input=input,
        )
        return proc.stdout.decode("utf-8", "replace").strip()

    def write(self, name: str | bytes, text: str | bytes) -> None:
        target = self.path / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode() if isinstance(text, str) else text)

    def commit(self, message: str, *paths: str | bytes) -> str:
        self.tick += 1
        if paths:
            self.git("add", "--", *(os.fsdecode(p) for p in paths))
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def date(self, tick: int) -> str:
        """The ISO author date of the commit made at ``tick``."""
        return datetime.fromtimestamp(BASE_TIME + 3600 * tick, UTC).isoformat()


def key(name: str) -> str:
    return stripe_key("git-" + name)


def loose_object(repo_git_dir: Path, oid: str) -> Path:
    return repo_git_dir / "objects" / oid[:2] / oid[2:]
