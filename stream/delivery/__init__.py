"""Delivery: subscriptions, signing and retry policy (pure); channels, store and the runner."""
