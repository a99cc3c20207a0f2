"""Git repositories whose configuration and attributes turn every git feature that can run a
program into one: each program only creates a marker file named after the feature."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.integration.git_repos import Builder, key

# every program git could run on a repository's say-so, by the key or attribute naming it
PROGRAMS = (
    "fsmonitor",
    "filter-clean",
    "filter-smudge",
    "filter-process",
    "textconv",
    "diff-command",
    "diff-external",
    "core-pager",
    "pager-cmd",
    "core-editor",
    "sequence-editor",
    "core-askpass",
    "ssh-command",
    "git-proxy",
    "credential-helper",
    "gpg-program",
    "gpg-ssh-program",
    "alternate-refs-command",
    "pack-objects-hook",
    "remote-uploadpack",
    "remote-receivepack",
    "ext-url",
    "submodule-ext-url",
    "submodule-update",
    "hook",
)
HOOKS = (
    "pre-commit",
    "post-checkout",
    "post-merge",
    "post-index-change",
    "reference-transaction",
    "pre-auto-gc",
    "fsmonitor-watchman",
    "post-update",
    "update",
    "pre-receive",
    "post-receive",
    "push-to-checkout",
    "pre-push",
    "post-rewrite",
)


def write_programs(bin_dir: Path, marks: Path, tag: str) -> None:
    """One executable per feature: touch ``marks/<tag><feature>``, then pass data through."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in PROGRAMS:
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\ntouch "{marks}/{tag}{name}"\nexec cat "$@"\n')
        script.chmod(0o755)


def hostile_config(bin_dir: Path, hooks: Path) -> str:
    b = bin_dir
    return f"""
[core]
\tfsmonitor = {b}/fsmonitor
\thooksPath = {hooks}
\tpager = {b}/core-pager
\teditor = {b}/core-editor
\taskPass = {b}/core-askpass
\tsshCommand = {b}/ssh-command
\tgitProxy = {b}/git-proxy
\talternateRefsCommand = {b}/alternate-refs-command
\tuntrackedCache = true
[filter "evil"]
\tclean = {b}/filter-clean
\tsmudge = {b}/filter-smudge
\tprocess = {b}/filter-process
\trequired = true
[diff "evil"]
\ttextconv = {b}/textconv
\tcommand = {b}/diff-command
[diff]
\texternal = {b}/diff-external
[pager]
\tlog = {b}/pager-cmd
\tstatus = {b}/pager-cmd
\tdiff = {b}/pager-cmd
\tls-files = {b}/pager-cmd
\tfor-each-ref = {b}/pager-cmd
[sequence]
\teditor = {b}/sequence-editor
[credential]
\thelper = {b}/credential-helper
[gpg]
\tprogram = {b}/gpg-program
[gpg "ssh"]
\tprogram = {b}/gpg-ssh-program
[log]
\tshowSignature = true
[uploadpack]
\tpackObjectsHook = {b}/pack-objects-hook
[protocol]
\tallow = always
[remote "origin"]
\turl = ext::{b}/ext-url
\tuploadpack = {b}/remote-uploadpack
\treceivepack = {b}/remote-receivepack
\tfetch = +refs/heads/*:refs/remotes/origin/*
[submodule "sub"]
\turl = ext::{b}/submodule-ext-url
\tupdate = !{b}/submodule-update
[submodule]
\trecurse = true
[fetch]
\trecurseSubmodules = true
"""


def write_hooks(hooks: Path, bin_dir: Path) -> None:
    hooks.mkdir(parents=True, exist_ok=True)
    for name in HOOKS:
        (hooks / name).write_text(f'#!/bin/sh\nexec "{bin_dir}/hook" "$@"\n')
        (hooks / name).chmod(0o755)


def build_hostile(top: Path, marks: Path, *, variant: str) -> Path:
    """A repository armed through ``variant``: ``config`` (its own .git/config), ``include``
    (include.path and includeIf), ``gitdir-file`` (a ``.git`` file pointing at an armed
    repository elsewhere). Returns the path to scan. Its history holds ``key("hostile")``, its
    work tree a modified file and an untracked file holding ``key("hostile-worktree")``."""
    marks.mkdir(parents=True, exist_ok=True)
    bin_dir = top / "bin"
    write_programs(bin_dir, marks, "")
    repo = top / "repo"
    b = Builder(repo)
    b.write(".gitattributes", "* filter=evil diff=evil merge=evil\n")
    b.write("config.env", f"STRIPE={key('hostile')}\n")
    b.write("notes.txt", "first\n")
    b.commit("first", ".gitattributes", "config.env", "notes.txt")
    b.write("notes.txt", "second\n")
    b.commit("second", "notes.txt")
    # a submodule entry whose URL is an ext:: command
    b.write(".gitmodules", f'[submodule "sub"]\n\tpath = sub\n\turl = ext::{bin_dir}/ext-url\n')
    b.git("update-index", "--add", "--cacheinfo", f"160000,{b.git('rev-parse', 'HEAD')},sub")
    b.commit("submodule", ".gitmodules")
    # a signed-looking commit on top: `log --show-signature` would hand it to gpg.program
    tree = b.git("rev-parse", "HEAD^{tree}")
    parent = b.git("rev-parse", "HEAD")
    signature = "-----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----"
    body = (
        f"tree {tree}\nparent {parent}\n"
        f"author A <a@example.com> 1700000000 +0000\n"
        f"committer A <a@example.com> 1700000000 +0000\n"
        f"gpgsig {signature}\n\nsigned\n"
    )
    signed = b.git("hash-object", "-t", "commit", "-w", "--stdin", input=body.encode())
    b.git("update-ref", "refs/heads/main", signed)
    # alternates: core.alternateRefsCommand lists the refs of this other repository
    other = Builder(top / "alternate.git", bare=True)
    (repo / ".git" / "objects" / "info" / "alternates").write_text(
        str(other.path / "objects") + "\n"
    )

    git_dir = repo / ".git"
    hooks = top / "hooks"
    write_hooks(hooks, bin_dir)
    write_hooks(git_dir / "hooks", bin_dir)
    config = hostile_config(bin_dir, hooks)
    target = repo
    if variant == "config":
        with (git_dir / "config").open("a") as fh:
            fh.write(config)
    elif variant == "include":
        (top / "included.config").write_text(config)
        (top / "included-if.config").write_text(config)
        with (git_dir / "config").open("a") as fh:
            fh.write(f"[include]\n\tpath = {top / 'included.config'}\n")
            fh.write(f'[includeIf "gitdir:{git_dir}/"]\n\tpath = {top / "included-if.config"}\n')
    elif variant == "gitdir-file":
        moved = top / "elsewhere.git"
        shutil.move(git_dir, moved)
        (repo / ".git").write_text(f"gitdir: {moved}\n")
        with (moved / "config").open("a") as fh:
            fh.write(config)
    else:
        raise ValueError(variant)
    # the work tree after arming: a modified tracked file (stat changed) and an untracked one
    (repo / "notes.txt").write_text("changed in the work tree\n")
    (repo / "local.env").write_text(f"STRIPE={key('hostile-worktree')}\n")
    old = 1_600_000_000
    os.utime(repo / "config.env", (old, old))  # stat differs from the index: git would hash it
    return target
