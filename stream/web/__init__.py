"""The HTTP API (subscriptions) served by ``finpulse api``."""
