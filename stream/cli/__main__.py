"""``python -m stream.cli``: the same as the ``finpulse`` command."""

from stream.cli.main import app

app()
