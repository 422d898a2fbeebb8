"""finpulse: real-time financial sentiment from news and social text.

The package is imported as ``stream``; its console script is ``finpulse``.
"""

__version__ = "0.1.0"
