"""Remote git repositories (https, ssh, git, file://), mirrored into a cache directory.

The first scan of a URL runs ``git clone --mirror`` into ``<cache>/git/<hash>-<name>.git``
(``--cache-dir``, default ``$XDG_CACHE_HOME/leakguard``); every later scan runs ``git fetch
--prune`` there, which transfers only new objects, then scans the mirror like a bare repository.
Its incremental state is keyed by the URL without credentials. A user name and password in an
http(s) URL are handed to git by LeakGuard's own credential helper, from the environment of that
one git process: the URL git is given, and so the mirror's configuration, never holds them. The
mirror is private (directories 0700, files 0600). Git never prompts; every clone and fetch runs
under the deadlines of :class:`leakguard.sources.git_run.Deadlines` (``--git-timeout``,
``--git-idle-timeout``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from leakguard.errors import InputError
from leakguard.options import ScanOptions
from leakguard.sources import git_run
from leakguard.sources.git import GitSource
from leakguard.sources.git_repo import Repository
from leakguard.sources.git_state import private_dirs
from leakguard.sources.interface import Source

_USERINFO = re.compile(r"(?<=://)[^/@]*@")
_USER_VAR = "LEAKGUARD_GIT_USERNAME"
_PASSWORD_VAR = "LEAKGUARD_GIT_PASSWORD"
# LeakGuard's own helper (the repository's and the user's helpers are cleared first): it
# answers git's "get" from two variables of the git process's environment, so the password
# is neither on a command line nor in a file
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0;'
    f' printf "username=%s\\npassword=%s\\n" "${_USER_VAR}" "${_PASSWORD_VAR}"; }}; f'
)


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


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """The URL git is given (no password; for http(s) no user name either) and the
    environment that hands the removed credentials to :data:`CREDENTIAL_HELPER`."""
    parts = urlsplit(url) if "://" in url else None
    if parts is None or "@" not in parts.netloc:
        return url, {}
    userinfo, _, host = parts.netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    user, password = unquote(user), unquote(password)
    if any(c in user + password for c in "\n\r\0"):
        raise InputError(
            f"{public_url(url)}: the credentials in the URL hold a line break or NUL byte"
        )
    if parts.scheme.lower() in ("http", "https"):
        bare = urlunsplit(parts._replace(netloc=host))
        return bare, {_USER_VAR: user, _PASSWORD_VAR: password}
    # ssh and git: the user name stays (ssh needs it); a password is never used there
    netloc = f"{userinfo.partition(':')[0]}@{host}" if has_password else parts.netloc
    return urlunsplit(parts._replace(netloc=netloc)), {}


def _private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) 0700; tighten it if LeakGuard made it earlier."""
    private_dirs(path)
    if path.stat().st_uid == os.getuid():
        os.chmod(path, 0o700)


def remote_source(url: str, options: ScanOptions) -> Source:
    mirror = mirror_path(url, options)
    shown = public_url(url)
    git_url, credentials = split_credentials(url)
    deadlines = git_run.Deadlines(
        options.git.connect_timeout_seconds,
        options.git.idle_timeout_seconds,
        options.git.total_timeout_seconds,
    )
    try:
        _private_dir(mirror.parent.parent)
        _private_dir(mirror.parent)
    except OSError as exc:
        raise InputError(
            f"cannot use the cache directory {mirror.parent.parent}: {exc.strerror or exc}",
            hint="pass --cache-dir DIR, a directory LeakGuard can write to",
        ) from None
    if (mirror / "HEAD").is_file():
        os.chmod(mirror, 0o700)
        fetch = ["fetch", "--prune", "--quiet", "--", git_url, "+refs/*:refs/*"]
        _git(fetch, mirror, shown, "fetch", deadlines, credentials)
    else:
        staging = Path(tempfile.mkdtemp(prefix=".clone-", dir=mirror.parent))
        try:
            clone = staging / "m.git"
            args = ["clone", "--mirror", "--quiet", "--template=", "--", git_url, str(clone)]
            _git(args, None, shown, "clone", deadlines, credentials)
            try:
                os.rename(staging / "m.git", mirror)
            except OSError:
                if not (mirror / "HEAD").is_file():  # not a concurrent scan that won the race
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return GitSource(Repository(mirror, None, shown), shown)


def _git(
    args: list[str],
    git_dir: Path | None,
    shown: str,
    what: str,
    deadlines: git_run.Deadlines | None,
    credentials: dict[str, str],
) -> None:
    config = ("credential.helper=" + CREDENTIAL_HELPER,) if credentials else ()
    try:
        proc = git_run.run(
            args,
            git_dir=git_dir,
            config=config,
            env=credentials,
            deadlines=deadlines,
            private=True,
        )
    except git_run.GitTimeout as exc:
        raise InputError(
            f"{shown}: git {what} gave up after {exc.seconds:g} s (the total deadline)",
            hint="raise --git-timeout for a very large repository, or check the server",
        ) from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
        shown_line = (fatal or lines or [f"git exited with {proc.returncode}"])[0]
        detail = public_url(shown_line)
        if credentials:
            for value in credentials.values():
                if value:
                    detail = detail.replace(value, "***")
        raise InputError(
            f"{shown}: git {what} failed: {detail}",
            hint="check the URL and your access (a credential helper or SSH agent; git never"
            " prompts)",
        )
