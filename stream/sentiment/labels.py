"""The model's classes, in the order of its outputs (PROBS) everywhere."""

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
LABEL_IDS: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
