"""Scoring: repeats out, batches planned, sentiment from Triton; ingest's marks passed on."""
