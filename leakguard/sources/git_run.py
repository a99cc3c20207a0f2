"""The one door to git: every git process LeakGuard starts is built here.

A scanned repository is hostile input. Its configuration (``.git/config`` and whatever it
includes) and its ``.gitattributes`` can name programs git would run: ``core.fsmonitor``,
filter drivers, textconv and external diff drivers, hooks, pagers, editors, ``gpg.program``,
ssh and proxy commands, credential helpers. Two layers keep them from running:

* every git process gets :data:`SAFE_CONFIG` on its command line (``-c`` wins over every
  configuration file for a single-valued key) and :func:`environment` (no system or global
  configuration, none of the caller's ``GIT_*`` variables, no prompts, pager or editor,
  transports limited to :data:`PROTOCOLS`);
* keys that cannot be overridden by name (``filter.<driver>.*``, ``diff.<driver>.*``) are
  harmless because LeakGuard only runs plumbing that never consults them: ``cat-file``
  (without ``--filters``/``--textconv``), ``log --raw``, ``ls-files``, ``ls-tree``,
  ``for-each-ref``, ``rev-parse``; never ``status``, ``diff``/``log -p``, ``checkout`` or
  ``add``. Work-tree files are read from disk by LeakGuard, not through git.

Network operations (clone and fetch of remote mirrors) also get deadlines: git's low-speed
abort (``http.lowSpeedLimit``/``lowSpeedTime``), ssh ``ConnectTimeout`` and keep-alives, and a
total deadline after which the whole process group is killed.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not loaded this early (see start_to_file)
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from typing import IO, Any

# Transports LeakGuard clones from; never ext:: (runs a command) or other remote helpers.
PROTOCOLS = ("https", "http", "ssh", "git", "file")
SSH_COMMAND = "ssh -o BatchMode=yes"
# below this many bytes per second for idle_seconds, a transfer is aborted
LOW_SPEED_BYTES = 1024

SAFE_CONFIG: tuple[str, ...] = (
    "core.fsmonitor=false",
    "core.untrackedCache=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "core.editor=:",
    "sequence.editor=:",
    "core.askPass=",
    "core.sshCommand=" + SSH_COMMAND,
    "core.gitProxy=none",
    "core.alternateRefsCommand=true",
    "core.attributesFile=/dev/null",
    "core.excludesFile=/dev/null",
    "core.useReplaceRefs=false",
    "core.quotePath=false",
    "credential.helper=",  # an empty value clears the list of helpers
    "gpg.program=false",
    "gpg.ssh.program=false",
    "gpg.x509.program=false",
    "log.showSignature=false",
    "log.mailmap=false",
    "diff.external=",
    "diff.orderFile=/dev/null",
    "color.ui=false",
    "i18n.logOutputEncoding=UTF-8",
    "submodule.recurse=false",
    "fetch.recurseSubmodules=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "protocol.allow=never",
    *(f"protocol.{name}.allow=always" for name in PROTOCOLS),
)

# the environment every git process starts from: the caller's, minus every GIT_* variable
_FIXED_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "",  # set and empty: no askpass program, not even core.askPass
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_EDITOR": ":",
    "GIT_SEQUENCE_EDITOR": ":",
    "GIT_SSH_COMMAND": SSH_COMMAND,
    "GIT_PROXY_COMMAND": "",  # set and empty: core.gitProxy is not consulted
    "GIT_ALLOW_PROTOCOL": ":".join(PROTOCOLS),
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_NO_LAZY_FETCH": "1",  # never fetch missing objects of a partial clone
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_TEMPLATE_DIR": "",
    "LC_ALL": "C",
}
_DROPPED = ("SSH_ASKPASS", "DISPLAY")


#: the object store's listing: every object's type, id and size on disk, in pack order
#: (``git_objects.Listing``; the first git process of a full scan, see ``git_early``)
OBJECT_LISTING = (
    "cat-file",
    "--batch-all-objects",
    "--unordered",
    "--batch-check=%(objecttype) %(objectname) %(objectsize:disk)",
)


class Deadlines:
    """Limits for a git process that talks to a server (see GitOptions for the defaults). A
    plain class: this module is loaded before git's first process starts, without
    ``dataclasses`` or ``typing`` (~12 ms; see :mod:`leakguard.sources.git_early`)."""

    __slots__ = ("connect_seconds", "idle_seconds", "total_seconds")

    def __init__(self, connect_seconds: float, idle_seconds: float, total_seconds: float) -> None:
        self.connect_seconds = connect_seconds
        self.idle_seconds = idle_seconds
        self.total_seconds = total_seconds


class GitTimeout(Exception):
    """The total deadline passed; the git process group was killed."""

    def __init__(self, seconds: float, stderr: bytes) -> None:
        super().__init__(f"no result after {seconds:g} s")
        self.seconds = seconds
        self.stderr = stderr


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k not in _DROPPED}
    env.update(_FIXED_ENV)
    if extra:
        env.update(extra)
    return env


def argv(
    args: Sequence[str],
    *,
    git_dir: Path | None = None,
    work_tree: Path | None = None,
    config: Sequence[str] = (),
) -> list[str]:
    """``git --no-pager -c <safe config>... [--git-dir] [--work-tree] <args>``."""
    cmd = ["git", "--no-pager", "--no-replace-objects"]
    for item in (*SAFE_CONFIG, *config):
        cmd += ["-c", item]
    if git_dir is not None:
        cmd.append(f"--git-dir={git_dir}")
    if work_tree is not None:
        cmd.append(f"--work-tree={work_tree}")
    return [*cmd, *args]


def network_config(deadlines: Deadlines) -> tuple[str, ...]:
    idle = max(1, round(deadlines.idle_seconds))
    return (
        f"http.lowSpeedLimit={LOW_SPEED_BYTES}",
        f"http.lowSpeedTime={idle}",
        "http.followRedirects=initial",
    )


def network_env(deadlines: Deadlines) -> dict[str, str]:
    connect = max(1, round(deadlines.connect_seconds))
    alive = max(1, round(deadlines.idle_seconds / 3))
    ssh = (
        f"{SSH_COMMAND} -o ConnectTimeout={connect} -o ServerAliveInterval={alive}"
        " -o ServerAliveCountMax=3"
    )
    return {"GIT_SSH_COMMAND": ssh}


def run(
    args: Sequence[str],
    *,
    git_dir: Path | None = None,
    work_tree: Path | None = None,
    cwd: Path | None = None,
    input: bytes | None = None,
    stdin: IO[bytes] | None = None,
    config: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    deadlines: Deadlines | None = None,
    private: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run git to completion and capture its output (never raises for a git failure).

    ``deadlines``: a network operation (low-speed abort, ssh timeouts, and a total deadline
    after which the process group is killed: :class:`GitTimeout`). ``private``: files git
    creates are readable by the owner only (umask 077).
    """
    import subprocess

    extra_env = dict(env or {})
    if deadlines is not None:
        config = (*network_config(deadlines), *config)
        extra_env = {**network_env(deadlines), **extra_env}
    if stdin is None:
        stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL  # type: ignore[assignment]
    proc = subprocess.Popen(
        argv(args, git_dir=git_dir, work_tree=work_tree, config=config),
        cwd=cwd,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(extra_env),
        start_new_session=deadlines is not None,
        umask=0o077 if private else -1,
    )
    timeout = deadlines.total_seconds if deadlines is not None else None
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise GitTimeout(timeout or 0.0, err) from None
    except BaseException:  # Ctrl-C, or a failure reading the pipes: leave no git behind
        if deadlines is not None:
            _kill_group(proc)
        else:
            proc.kill()
        proc.wait()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def popen(
    args: Sequence[str],
    *,
    git_dir: Path | None = None,
    config: Sequence[str] = (),
    **kwargs: Any,
) -> subprocess.Popen[bytes]:
    """Start a long-running local git process (cat-file, log) with the hardened setup."""
    import subprocess

    return subprocess.Popen(argv(args, git_dir=git_dir, config=config), env=environment(), **kwargs)


def start_to_file(args: Sequence[str], *, git_dir: Path, output: int) -> int | None:
    """Start git with the hardened setup, its output written to the file descriptor
    ``output`` (no input; errors discarded), without loading :mod:`subprocess`: the process
    id, to wait for with ``os.waitpid``; None where the system has no ``posix_spawn`` (start
    it with :func:`popen` then). For the first git process of a scan, started before the rest
    of LeakGuard is loaded. Like :func:`popen`'s child, git starts with ``SIGPIPE`` and
    ``SIGXFSZ`` at their defaults (Python ignores them) and none of this process's open files
    but the three given (Python opens every file non-inheritable)."""
    spawn = getattr(os, "posix_spawnp", None)
    if spawn is None:
        return None
    import signal

    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, output, 1),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    defaults = [
        s for s in (getattr(signal, "SIGPIPE", None), getattr(signal, "SIGXFSZ", None)) if s
    ]
    pid: int = spawn(
        "git",
        argv(args, git_dir=git_dir),
        environment(),
        file_actions=actions,
        setsigdef=defaults,
    )
    return pid


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
