"""Ingest: validate raw posts, normalise, redact, detect language, find topics (pure), and the agent."""
