"""Streaming multipart upload: the file part goes straight to disk, chunk by chunk, with a size limit.

Nothing is buffered in memory beyond one network chunk; the SHA-256 is computed on the way. The CSRF token
must arrive (form field placed before the file, or ``X-CSRF-Token`` header) before the file part starts, so a
forged upload is refused before any byte is written.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from backtorun.web.storage import FILE_MODE, private_dir

MAX_FIELD_BYTES = 10_000


class UploadRejected(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass
class ReceivedUpload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    content_type: str = ""
    path: Path | None = None
    size_bytes: int = 0
    sha256: str = ""

    def discard(self) -> None:
        if self.path is not None and self.path.exists():
            self.path.unlink()


class _State:
    def __init__(self, tmp_dir: Path, max_bytes: int, file_field: str, csrf_expected: str, csrf_header: str) -> None:
        self.tmp_dir = tmp_dir
        self.max_bytes = max_bytes
        self.file_field = file_field
        self.csrf_expected = csrf_expected
        self.csrf_header = csrf_header
        self.result = ReceivedUpload()
        self.headers: dict[bytes, bytes] = {}
        self.header_field = b""
        self.header_value = b""
        self.part_name: str | None = None
        self.part_is_file = False
        self.field_buf = bytearray()
        self.fh: BinaryIO | None = None
        self.hasher = hashlib.sha256()
        self.error: UploadRejected | None = None
        self.seen_file = False

    # python-multipart callbacks -------------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.headers = {}
        self.part_name = None
        self.part_is_file = False
        self.field_buf = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        _, opts = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.part_name = opts.get(b"name", b"").decode("utf-8", "replace")
        filename = opts.get(b"filename")
        self.part_is_file = filename is not None
        if not self.part_is_file or self.error is not None:
            return
        if self.part_name != self.file_field or self.seen_file:
            self.fail(400, "unexpected file in the form")
            return
        token = self.result.fields.get("csrf_token") or self.csrf_header
        if not token or not hmac.compare_digest(token, self.csrf_expected):
            self.fail(403, "the form has expired or did not come from this site; reload the page and try again")
            return
        self.seen_file = True
        self.result.filename = os.path.basename(filename.decode("utf-8", "replace").replace("\\", "/"))[:200]
        self.result.content_type = self.headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip()
        private_dir(self.tmp_dir)
        self.result.path = self.tmp_dir / f".upload-{secrets.token_hex(8)}.part"
        fd = os.open(self.result.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)  # 0600 whatever the umask
        self.fh = os.fdopen(fd, "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        chunk = data[start:end]
        if self.part_is_file:
            if self.fh is None:
                return
            self.result.size_bytes += len(chunk)
            if self.result.size_bytes > self.max_bytes:
                self.fail(413, f"the file is larger than the limit of {self.max_bytes / 1e6:.0f} MB")
                return
            self.hasher.update(chunk)
            self.fh.write(chunk)
        else:
            self.field_buf += chunk
            if len(self.field_buf) > MAX_FIELD_BYTES:
                self.fail(400, "a form field is too long")

    def on_part_end(self) -> None:
        if self.part_is_file:
            if self.fh is not None:
                self.fh.close()
                self.fh = None
                self.result.sha256 = self.hasher.hexdigest()
        elif self.part_name and self.error is None:
            self.result.fields[self.part_name] = self.field_buf.decode("utf-8", "replace")

    def fail(self, status: int, message: str) -> None:
        if self.error is None:
            self.error = UploadRejected(status, message)
        if self.fh is not None:
            self.fh.close()
            self.fh = None


async def receive_upload(request: Request, *, tmp_dir: Path, max_bytes: int, csrf_expected: str,
                         file_field: str = "file") -> ReceivedUpload:
    """Parse a multipart/form-data request, writing the one file part to ``tmp_dir`` as it arrives."""
    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in opts:
        raise UploadRejected(415, "send the file from the upload form (multipart/form-data)")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + 1_000_000:
        raise UploadRejected(413, f"the file is larger than the limit of {max_bytes / 1e6:.0f} MB")
    st = _State(tmp_dir, max_bytes, file_field, csrf_expected, request.headers.get("x-csrf-token", ""))
    callbacks = {name: getattr(st, name) for name in (
        "on_part_begin", "on_part_data", "on_part_end", "on_header_field", "on_header_value", "on_header_end",
        "on_headers_finished")}
    parser = MultipartParser(opts[b"boundary"], callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if st.error is not None:
                break
        else:
            parser.finalize()
    except (MultipartParseError, ClientDisconnect):
        st.fail(400, "the upload was interrupted or malformed; try again")
    finally:
        if st.fh is not None:
            st.fh.close()
        if st.error is not None:
            st.result.discard()
    if st.error is not None:
        raise st.error
    if not st.seen_file:
        token = st.result.fields.get("csrf_token") or st.csrf_header
        if not token or not hmac.compare_digest(token, csrf_expected):
            raise UploadRejected(403, "the form has expired or did not come from this site; reload the page")
        raise UploadRejected(400, "choose a file to upload")
    if st.result.size_bytes == 0:
        st.result.discard()
        raise UploadRejected(400, "the file is empty")
    return st.result
