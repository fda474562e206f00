"""Where the folders that ship beside the package live.

The repository keeps ``templates/``, ``config/`` and ``plugins/`` at the top level. A wheel
carries them inside the package under ``_bundled/`` (hatchling ``force-include``), while an
editable install reads them from the tree. Every lookup goes through :func:`bundled_dir` so
both layouts work.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_dir(name: str) -> Path:
    """Return the folder ``name`` (``templates``, ``config`` or ``plugins``).

    :param name: the top-level folder of the repository.
    """
    installed = PACKAGE_DIR / "_bundled" / name
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent / name
