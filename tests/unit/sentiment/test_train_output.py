"""What a training writes when its output is a log file, not a terminal: a line per epoch; no
progress bar redrawn per step, no transformers load report or weight-loading bar."""

import io
import sys
from pathlib import Path

import pytest

from stream.sentiment.train import progress_bar
from tests.unit.sentiment.quick_training import needs_data, train_quick


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


@needs_data
def test_training_into_a_log_file_writes_a_line_per_epoch(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    train_quick(tmp_path, progress=True)  # one epoch of 4 steps
    out, err = capfd.readouterr()
    epochs = [line.split(":")[0] for line in out.splitlines() if line.startswith("epoch ")]
    assert epochs == ["epoch 1"]
    for noise in ("training:", "Loading weights", "LOAD REPORT"):
        assert noise not in out + err
