"""``python -m dashboard.cli``: the ``dashboard`` command without its console script."""

from dashboard.cli import main

main(prog_name="dashboard")
