"""Where the dashboard keeps its own files: the instance folder.

The folder holds the state database (users, audit log), the secret key, the demo database
and the file cache. It must not depend on the current directory: ``dashboard users
set-password admin`` run from another folder has to find the same users that ``serve``
created. So it defaults to the platform's per-user data folder (platformdirs:
``~/.local/share/dashboard`` on Linux, or ``$XDG_DATA_HOME/dashboard``;
``~/Library/Application Support/dashboard`` on macOS; ``%LOCALAPPDATA%\\dashboard`` on
Windows), and the ``INSTANCE_PATH`` setting (``DASHBOARD_INSTANCE_PATH``) overrides it.
"""

from __future__ import annotations

import hashlib
import typing as t
from pathlib import Path

import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

APP_NAME = "dashboard"


def default_instance_path() -> Path:
    """The platform's data folder for this user and this program (not created here)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def instance_path_for(config: t.Mapping[str, t.Any]) -> Path:
    """The instance folder the settings name: ``INSTANCE_PATH``, else :func:`default_instance_path`.

    A relative ``INSTANCE_PATH`` is taken from the current directory, as the operator typed it.
    """
    configured = config.get("INSTANCE_PATH")
    return (Path(configured).expanduser() if configured else default_instance_path()).resolve()


def file_cache_dir(instance_path: str | Path, database_url: str) -> Path:
    """The listing cache folder of one served database inside the instance folder.

    Every dashboard of one user shares the default instance folder; two of them serving
    different databases must never read each other's cached listings (a table ``orders``
    in both), so each database gets its own folder, named by a digest of its URL (without
    the password, so the password never reaches a folder name).
    """
    try:
        shown = make_url(database_url).render_as_string(hide_password=True) if database_url else "demo"
    except ArgumentError:
        shown = database_url
    digest = hashlib.sha256(shown.encode("utf-8")).hexdigest()[:16]
    return Path(instance_path) / "cache" / digest
