"""Remote git repositories (https, ssh, git, file://), mirrored into a cache directory.

The first scan of a URL runs ``git clone --mirror`` into ``<cache>/git/<hash>-<name>.git``
(``--cache-dir``, default ``$XDG_CACHE_HOME/leakguard``); every later scan runs ``git fetch
--prune`` there, which transfers only new objects, then scans the mirror like a bare repository.
Its incremental state is keyed by the URL without credentials, and the mirror's configuration
never holds them either (each fetch is given the URL as typed). Git never prompts: credentials
come from the URL, a credential helper or an SSH agent.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from leakguard.errors import InputError
from leakguard.options import ScanOptions
from leakguard.sources.git import GitSource
from leakguard.sources.git_objects import git_env
from leakguard.sources.git_repo import Repository
from leakguard.sources.interface import Source

_USERINFO = re.compile(r"(?<=://)[^/@]*@")


_FORGE = re.compile(
    r"^https?://(?:[^/@]*@)?(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org)"
    r"/[\w.-]+/[\w.-]+/?$",
    re.IGNORECASE,
)


def looks_like_git_url(url: str) -> bool:
    """``….git`` URLs, and ``https://github.com/OWNER/REPO``-style repository pages."""
    return url.lower().rstrip("/").endswith(".git") or bool(_FORGE.match(url))


def public_url(url: str) -> str:
    """The URL without a user name or password (for keys, labels and messages)."""
    return _USERINFO.sub("", url)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "leakguard"


def mirror_path(url: str, options: ScanOptions) -> Path:
    shown = public_url(url)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", shown.rstrip("/").rsplit("/", 1)[-1])[:60]
    digest = hashlib.sha256(shown.encode()).hexdigest()[:16]
    cache = options.cache_dir or default_cache_dir()
    return cache / "git" / f"{digest}-{name.removesuffix('.git') or 'repo'}.git"


def remote_source(url: str, options: ScanOptions) -> Source:
    mirror = mirror_path(url, options)
    shown = public_url(url)
    if (mirror / "HEAD").is_file():
        # the URL as given each time: credentials in it are never written to the mirror
        fetch = ["fetch", "--prune", "--quiet", "--", url, "+refs/*:refs/*"]
        _git(["--git-dir", str(mirror), *fetch], shown, "fetch")
    else:
        try:
            mirror.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            staging = Path(tempfile.mkdtemp(prefix=".clone-", dir=mirror.parent))
        except OSError as exc:
            raise InputError(
                f"cannot use the cache directory {mirror.parent.parent}: {exc.strerror or exc}",
                hint="pass --cache-dir DIR, a directory LeakGuard can write to",
            ) from None
        try:
            clone = staging / "m.git"
            _git(["clone", "--mirror", "--quiet", "--", url, str(clone)], shown, "clone")
            _git(["--git-dir", str(clone), "config", "remote.origin.url", shown], shown, "config")
            try:
                os.rename(staging / "m.git", mirror)
            except OSError:
                if not (mirror / "HEAD").is_file():  # not a concurrent scan that won the race
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return GitSource(Repository(mirror, None, shown), shown)


def _git(args: list[str], shown: str, what: str) -> None:
    env = git_env()
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    proc = subprocess.run(["git", *args], capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = public_url(lines[-1]) if lines else f"git exited with {proc.returncode}"
        raise InputError(
            f"{shown}: git {what} failed: {detail}",
            hint="check the URL and your access (a credential helper or SSH agent; git never"
            " prompts)",
        )
