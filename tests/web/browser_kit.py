"""Shared set-up of the real-browser tests (Debian's Chromium through Playwright against ``backtorun serve``):
the first administrator, the screenshot folder, the browser launch, the screenshot content check and the upload
steps that every whole-evaluation walk goes through."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.web.conftest import cli

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def assert_not_blank(png: Path, *, min_colours: int = 8) -> None:
    """A screenshot with real content: many colours and visible contrast, not one flat colour."""
    img = np.asarray(Image.open(png).convert("RGB")).astype(np.float32)
    assert img.shape[0] > 100 and img.shape[1] > 100
    colours = len(np.unique(img.reshape(-1, 3)[:: max(1, img.shape[0] * img.shape[1] // 200_000)], axis=0))
    assert colours >= min_colours, f"{png.name}: only {colours} colours"
    assert float(img.std()) > 10.0, f"{png.name}: almost uniform"


def create_admin(data_dir: Path, server_db: str | None, *, email: str, clinic: str, password: str) -> None:
    """The first administrator, made with ``backtorun admin create`` (password on stdin) before the server starts."""
    db_args = ["--db", server_db] if server_db else []
    r = cli("admin", "create", "--email", email, "--clinic", clinic, "--password-stdin",
            "--data-dir", str(data_dir), *db_args, input_text=password + "\n")
    assert r.returncode == 0, r.stderr


def shots_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``$BTR_SCREENSHOT_DIR`` (kept for a human to look at) or a folder of the test."""
    shots = Path(os.environ.get("BTR_SCREENSHOT_DIR", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, with the flags a sandboxed CI machine needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def fill_tests(page: Any) -> None:
    """The strength tests of the walk: Sorensen hold 95 s, single-leg bridge 20 (left) and 14 (right) reps."""
    page.fill("input[name='sorensen.hold_s']", "95")
    page.fill("input[name='single_leg_bridge.left_reps']", "20")
    page.fill("input[name='single_leg_bridge.right_reps']", "14")


def upload_log_and_side_video(page: Any, expect: Any, log: Path, video: Path) -> None:
    """Upload a training log and a side-view video on the evaluation page; each is listed afterwards."""
    page.set_input_files("#logs input[name=file]", str(log))
    page.click("#logs button[type=submit]")
    expect(page.locator("#logs")).to_contain_text(log.name)
    page.select_option("#video-form select[name=kind]", "side")
    page.set_input_files("#video-form input[name=file]", str(video))
    page.click("#video-form button[type=submit]")
    expect(page.locator("#videos")).to_contain_text(video.name)
