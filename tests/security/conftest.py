"""Fixtures of the security audit replay: the web app on a temporary data folder (fixtures shared with tests/web),
hostile payloads, a loopback HTTP server that records every request it gets (server-side request forgery probe),
and PDF inspection with poppler's pdftotext/pdfimages."""

from __future__ import annotations

import http.server
import re
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PIL import Image

from tests.web.conftest import pg_server, tiny_video, web_settings, world  # noqa: F401  (fixtures)

FOREIGN_IMAGE_SIZE = (37, 23)  # width, height of "another clinic's key frame": no other image has this size
OWN_IMAGE_SIZE = (161, 91)  # the evaluation's own key frame, which must still be embedded


@dataclass
class Recorder:
    """A loopback HTTP server answering every GET with a PNG of FOREIGN_IMAGE_SIZE, recording the paths asked."""

    port: int
    hits: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Recorder]:
    png = foreign_png(tmp_path / "served.png")
    body = png.read_bytes()
    rec = Recorder(port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            rec.hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def foreign_png(path: Path, size: tuple[int, int] = FOREIGN_IMAGE_SIZE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), (220, 30, 30), np.uint8)).save(path)
    return path


def hostile_texts(foreign_file: Path, recorder: Recorder, marker: str) -> dict[str, str]:
    """The audit's three payloads (cross-clinic file URL, SSRF to a loopback URL, text printed on every page),
    each also as HTML/attribute breakers, keyed by name."""
    return {
        "cross_clinic": (f'S"\n}}@top-left{{content:url(file://{foreign_file})}}'
                         f'<img src="file://{foreign_file}">'),
        "ssrf": (f"R\\\"}}@top-right{{content:url({recorder.url}/ssrf)}}"
                 f"<img src=\"{recorder.url}/img\"><link rel=stylesheet href=\"{recorder.url}/css\">"),
        "text": f'T"}}@top-center{{content:"{marker}"}}<script>alert(1)</script>\'"><b>{marker}</b>',
    }


def pdf_text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True)
    return out.stdout


def pdf_image_sizes(pdf: Path) -> list[tuple[int, int]]:
    """(width, height) of every image embedded in the PDF (pdfimages -list)."""
    out = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    sizes = []
    for line in out.splitlines()[2:]:
        cols = line.split()
        if len(cols) > 4 and cols[2] in ("image", "smask", "mask"):
            sizes.append((int(cols[3]), int(cols[4])))
    return sizes


def marker_outside_payload(text: str, marker: str) -> int:
    """Occurrences of ``marker`` that are not part of the literal payload text (``content:"MARKER"`` or
    ``<b>MARKER</b>``): each is text that an injection printed by itself."""
    flat = re.sub(r"\s+", "", text)
    total = flat.count(marker)
    literal = flat.count(f'content:"{marker}"') + flat.count(f"<b>{marker}</b>")
    return total - literal
