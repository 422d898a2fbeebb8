"""Print an HTML report to PDF or PNG with headless Chromium (Debian's ``chromium``, installed
by ops/install). Chromium runs with a throw-away profile and every background service off, so it
reaches nothing beyond the file it prints.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from stream.errors import ConfigError, ServiceError

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--virtual-time-budget=5000",
)  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise ConfigError("chromium not found (PDF and PNG reports need it): run ./ops/install, "
                          "or write --format html")  # fmt: skip
    return found


def print_page(html_file: Path, out: Path, fmt: str, *, timeout_s: float = 120) -> None:
    """Write ``html_file`` as ``fmt`` (pdf or png) to ``out``."""
    with tempfile.TemporaryDirectory(prefix="finpulse-chromium-") as profile:
        target = ["--no-pdf-header-footer", f"--print-to-pdf={out}"] if fmt == "pdf" else [
            "--window-size=1280,2400", f"--screenshot={out}"]  # fmt: skip
        cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *target,
               html_file.resolve().as_uri()]  # fmt: skip
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise ServiceError(f"chromium did not print {html_file} within {timeout_s:.0f} s",
                               service="chromium", address=str(html_file)) from None  # fmt: skip
    if result.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise ServiceError(f"chromium could not print {html_file} to {fmt}: {tail[0]}",
                           service="chromium", address=str(html_file))  # fmt: skip


def printed(page: str, fmt: str) -> bytes:
    """An HTML document (``page``) printed to ``fmt`` (pdf or png) by Chromium, as bytes."""
    with tempfile.TemporaryDirectory(prefix="finpulse-report-") as tmp:
        source, out = Path(tmp) / "report.html", Path(tmp) / f"report.{fmt}"
        source.write_text(page, encoding="utf-8")
        print_page(source, out, fmt)
        return out.read_bytes()
