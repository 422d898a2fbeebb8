"""What a training writes when its output is a log file, not a terminal: a line per epoch; no
progress bar redrawn per step, no transformers load report or weight-loading bar."""

from pathlib import Path

import pytest

from tests.unit.sentiment.quick_training import needs_data, train_quick


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
