"""Ingest: validate raw posts, normalise, redact, detect language, find topics; the agent."""
