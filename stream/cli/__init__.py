"""The ``finpulse`` command line."""
