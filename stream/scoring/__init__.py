"""Scoring: repeats out, batches planned, sentiment from Triton; the scoring watermark."""
