"""Progress bars for long work, drawn on a terminal only."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress_bar(
    iterable: Any = None, *, total: int | None = None, desc: str, unit: str, enabled: bool = True
) -> Any:
    """A tqdm bar, drawn on a terminal only: redrawn into a log file it leaves a line per step
    (400 kB for one training), where the lines written beside it say enough."""
    shown = enabled and sys.stderr.isatty()  # tqdm draws on stderr
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not shown)
