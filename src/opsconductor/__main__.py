"""``python -m opsconductor`` runs the CLI."""

from opsconductor.cli import app

app(prog_name="opsconductor")
