"""Hatchling build hook: compile the gettext catalogs (``.po`` -> ``.mo``) into the build.

``.mo`` files are build products (git ignores them). A wheel gets them compiled into a
temporary folder and placed beside their ``.po`` inside the package, from
``dashboard/translations/`` and from every bundled plugin's ``translations/``. An editable
install (``pip install -e .``) compiles them in place, in the work tree, where the package
is read from. Fuzzy entries are left out, as ``msgfmt`` does. A ``.po`` that does not parse
fails the build.

Lives outside the package (a dotfolder, shipped in the sdist only) and imports only babel,
which the hook declares as its own build dependency in pyproject.toml.
"""

from __future__ import annotations

import shutil
import tempfile
import typing as t
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: Folders of the project holding catalogs -> where the wheel carries that folder.
CATALOG_FOLDERS = {
    "dashboard/translations": "dashboard/translations",
    "plugins": "dashboard/_bundled/plugins",
}


class CatalogsBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, t.Any]) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(self.root)
        editable = version == "editable"
        self._scratch = None if editable else Path(tempfile.mkdtemp(prefix="dashboard-catalogs-"))
        for folder, shipped in CATALOG_FOLDERS.items():
            source = root / folder
            for po in sorted(source.glob("**/LC_MESSAGES/*.po")):
                relative = po.relative_to(source).with_suffix(".mo")
                in_tree = po.with_suffix(".mo")
                # plugins/ is force-included whole: a .mo already beside its .po ships with it.
                target = in_tree if editable or (folder == "plugins" and in_tree.exists()) else None
                if target is None:
                    assert self._scratch is not None
                    target = self._scratch / folder / relative
                    build_data["force_include"][str(target)] = f"{shipped}/{relative.as_posix()}"
                with po.open("rb") as handle:
                    catalog = read_po(handle, abort_invalid=True)
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as handle:
                    write_mo(handle, catalog, use_fuzzy=False)

    def finalize(self, version: str, build_data: dict[str, t.Any], artifact_path: str) -> None:
        if getattr(self, "_scratch", None) is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
