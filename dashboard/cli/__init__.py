"""The ``dashboard`` command (the console script ``dashboard = "dashboard.cli:main"``).

One module per command or command group: :mod:`.serve` (with :mod:`.server`, gunicorn),
:mod:`.inspect`, :mod:`.demo`, :mod:`.users`, :mod:`.plugins`, :mod:`.translations`, :mod:`.audit`; what
they share (:func:`~dashboard.cli.common.fail`, :func:`~dashboard.cli.common.build_app`) is
in :mod:`.common`. This module only gathers them under :func:`main`.

May import every layer: the command line sits on top of the application. Nothing of the
package imports it, and its modules never import this ``__init__``.
"""

from __future__ import annotations

import click

from dashboard.cli.audit import audit_command
from dashboard.cli.demo import demo_command
from dashboard.cli.inspect import inspect
from dashboard.cli.plugins import plugins_command
from dashboard.cli.serve import serve
from dashboard.cli.tokens import tokens_command
from dashboard.cli.translations import translations_command
from dashboard.cli.users import users_command

__all__ = ["main"]


@click.group()
@click.version_option(package_name="dashboard")
def main() -> None:
    """Point dashboard at a SQL database and get an admin site for every table."""


main.add_command(serve, "serve")
main.add_command(inspect, "inspect")
main.add_command(demo_command, "demo")
main.add_command(users_command, "users")
main.add_command(tokens_command, "tokens")
main.add_command(plugins_command, "plugins")
main.add_command(translations_command, "translations")
main.add_command(audit_command, "audit")
