"""git in scratch checkouts: a release is built from a commit."""
from __future__ import annotations

import os
import subprocess

__all__ = ["GIT_ENV", "commit_all"]

#: The scratch checkouts belong to the host user, not to root: tell git that is fine.
GIT_ENV = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*",
           "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}


def commit_all(directory) -> str:
    """``git init`` and commit everything in ``directory``.

    Returns
    -------
    str
        The commit's short SHA (what scripts/publish.sh tags the images with).

    Raises
    ------
    subprocess.CalledProcessError
        If a git command fails.
    """
    git = ["git", "-C", str(directory)]
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=CI", "-c", "user.email=ci@localhost", "commit", "-q", "-m", "release"]):
        subprocess.run([*git, *args], env=GIT_ENV, check=True, capture_output=True, timeout=120)
    return subprocess.run([*git, "rev-parse", "--short", "HEAD"], env=GIT_ENV, check=True, capture_output=True,
                          text=True, timeout=60).stdout.strip()
