"""Progress bars: drawn on a terminal, quiet in a log file or a pipe."""

import io
import sys

import pytest

from stream.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_are_drawn_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_bar(total=3, desc="training", unit="step").disable
    monkeypatch.setattr(sys, "stderr", Terminal())
    with progress_bar(total=3, desc="training", unit="step") as bar:
        assert not bar.disable
    assert progress_bar(total=3, desc="training", unit="step", enabled=False).disable
