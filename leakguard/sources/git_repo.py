"""Finding a repository (GitPython) and reading its refs and work-tree status.

Everything here is one git process per question, never one per object or commit.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from leakguard.errors import InputError
from leakguard.sources.git_objects import git_env

BRANCH_PREFIXES = ("refs/heads/", "refs/remotes/")


@dataclass(frozen=True, slots=True)
class Repository:
    git_dir: Path
    work_tree: Path | None  # None for a bare repository
    key: str  # identity for the incremental state: the git directory, or the remote URL


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    oid: str  # what the ref points to, peeled (a tag's commit)
    kind: str  # the peeled object's type: commit | tree | blob

    @property
    def short_name(self) -> str:
        """``main`` for refs/heads/main, ``origin/main`` for refs/remotes/origin/main."""
        for prefix in BRANCH_PREFIXES:
            if self.name.startswith(prefix):
                return self.name[len(prefix) :]
        return self.name

    @property
    def is_branch(self) -> bool:
        return self.name.startswith(BRANCH_PREFIXES) and not self.name.endswith("/HEAD")


def discover(path: Path) -> Repository | None:
    """The repository whose top level (or bare directory) is ``path``; None otherwise."""
    if not (path / ".git").exists() and not (path / "HEAD").is_file():
        return None
    try:
        import git  # GitPython: repository discovery
    except ImportError as exc:  # GitPython refuses to load without a git executable
        raise InputError(
            f"{path}: looks like a git repository, but git cannot be run: {exc}",
            hint="install git (2.31 or later) or put it on PATH",
        ) from None
    try:
        repo = git.Repo(path, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, OSError, ValueError):
        return None
    git_dir = Path(repo.git_dir).resolve()
    work_tree = None if repo.bare or repo.working_tree_dir is None else Path(repo.working_tree_dir)
    if work_tree is not None and work_tree.resolve() != path.resolve():
        if git_dir != path.resolve():
            return None
        work_tree = None  # the .git directory itself: its history, not the files beside it
    return Repository(git_dir, work_tree, str(git_dir))


def discover_plain(path: Path) -> Repository | None:
    """Without GitPython or git: the repository at ``path`` when it has the plain layout (a
    ``.git`` directory, or a bare repository), with the key :func:`discover` gives it; None
    for anything else (linked work trees, ``.git`` files, not a repository). Only a hint: a
    repository found here may still be one git refuses."""
    top = os.fspath(path)
    dot_git = os.path.join(top, ".git")
    if os.path.isdir(dot_git) and not os.path.islink(dot_git):
        git_dir, work_tree = dot_git, path
    elif os.path.isfile(os.path.join(top, "HEAD")) and os.path.isdir(os.path.join(top, "objects")):
        git_dir, work_tree = top, None
    else:
        return None
    if not os.path.isfile(os.path.join(git_dir, "HEAD")):
        return None
    resolved = Path(os.path.realpath(git_dir))
    return Repository(resolved, work_tree, str(resolved))


def run_git(repo: Repository, args: Sequence[str], *, what: str) -> bytes:
    """Run git in ``repo`` and return stdout; a failure is an :class:`InputError`."""
    cmd = ["git", f"--git-dir={repo.git_dir}"]
    if repo.work_tree is not None:
        cmd.append(f"--work-tree={repo.work_tree}")
    proc = subprocess.run([*cmd, *args], capture_output=True, env=git_env(), check=False)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(
            f"{repo.key}: {what} failed: {message[-1] if message else 'git exited with an error'}",
            hint="check that the path is a readable, valid git repository (git fsck)",
        )
    return proc.stdout


def list_refs(repo: Repository) -> list[Ref]:
    """Every ref (branches, tags, remote-tracking, stash, notes...), peeled."""
    out = run_git(
        repo,
        [
            "for-each-ref",
            "--format=%(objectname) %(objecttype) %(*objectname) %(*objecttype) %(refname)",
        ],
        what="listing refs",
    )
    refs = []
    for line in out.decode("utf-8", "replace").splitlines():
        parts = line.split(" ", 4)
        if len(parts) != 5:
            continue
        oid, kind, peeled, peeled_kind, name = parts
        if peeled:
            oid, kind = peeled, peeled_kind
        refs.append(Ref(name, oid, kind))
    return refs


def stash_entries(repo: Repository, refs: Sequence[Ref]) -> list[str]:
    """Every stash entry (the reflog of refs/stash), not only the latest one."""
    if not any(r.name == "refs/stash" for r in refs):
        return []
    try:
        out = run_git(repo, ["log", "-g", "--format=%H", "refs/stash", "--"], what="stash list")
    except InputError:
        return []
    return out.decode("ascii", "replace").split()


def resolve_refs(repo: Repository, names: Sequence[str]) -> list[Ref]:
    """The commits named by ``--ref`` values (branch, tag, remote ref, commit id...)."""
    out = []
    for name in names:
        try:
            oid = run_git(
                repo, ["rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"], what="rev-parse"
            )
        except InputError:
            raise InputError(
                f"{repo.key}: unknown ref {name!r}",
                hint="give a branch, tag or commit that exists (git for-each-ref lists them)",
            ) from None
        out.append(Ref(name, oid.decode().strip(), "commit"))
    return out


def work_tree_changes(repo: Repository) -> list[tuple[bytes, str]]:
    """(path, state) of modified, added and untracked files; ignored files are left out."""
    out = run_git(
        repo,
        [
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--ignore-submodules=all",
            "--no-renames",
        ],
        what="git status",
    )
    changes = []
    for entry in out.split(b"\0"):
        if len(entry) < 4:
            continue
        xy, path = entry[:2], entry[3:]
        if xy == b"??":
            changes.append((path, "untracked"))
        elif b"D" not in xy:
            changes.append((path, "modified"))
    return changes


def work_tree_files(repo: Repository) -> list[tuple[bytes, str]]:
    """(path, state) of every tracked and untracked (not ignored) file."""
    tracked = run_git(repo, ["ls-files", "-z", "--cached"], what="git ls-files")
    others = run_git(
        repo, ["ls-files", "-z", "--others", "--exclude-standard"], what="git ls-files"
    )
    files = {p: "tracked" for p in tracked.split(b"\0") if p}
    for p in others.split(b"\0"):
        if p:
            files.setdefault(p, "untracked")
    return list(files.items())
