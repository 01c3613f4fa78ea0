"""The ``flask tracker`` command group.

Registered as a ``flask.commands`` entry point, so ``check-plans`` works even when a bad
plan file stops the app from loading. The commands live next to what they operate on.
"""

from flask.cli import AppGroup

from ..catalog import check_plans_command
from .worker import send_due_command, worker_command

tracker_cli = AppGroup("tracker", help="Roadmap Tracker commands.")
tracker_cli.add_command(check_plans_command)
tracker_cli.add_command(send_due_command)
tracker_cli.add_command(worker_command)
