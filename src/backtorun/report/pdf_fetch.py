"""A WeasyPrint URL fetcher that reads only local files inside the folders it is given.

WeasyPrint fetches every ``url(…)``, ``<img src>`` and stylesheet it meets. Its default fetcher follows any
scheme (``file:``, ``http:``, ``ftp:``, …), so text that reached a stylesheet could embed another clinic's files
or make the server request a local URL. This fetcher serves ``file:`` URLs whose resolved path (symbolic links
followed) lies inside one of the allowed folders and refuses everything else: other files, ``http(s):``,
``data:`` and every other scheme.
"""

from __future__ import annotations

import logging
import mimetypes
from importlib import resources
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)


class FetchRefused(ValueError):
    """A resource outside the allowed folders, or with a scheme other than ``file:``."""


def package_asset_dir() -> Path:
    """The report package's own folder (templates, CSS): always readable by the PDF renderer."""
    return Path(str(resources.files("backtorun.report"))).resolve()


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def make_url_fetcher(allowed_dirs: Iterable[Path]) -> Any:
    """A ``weasyprint.URLFetcher`` restricted to files inside ``allowed_dirs`` (plus the package's assets).

    Refusals raise :class:`FetchRefused`; WeasyPrint logs them and leaves the resource out of the document.
    """
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = tuple({Path(d).resolve() for d in allowed_dirs} | {package_asset_dir()})

    class _LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:  # noqa: ARG002
            parts = urlsplit(url)
            if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
                log.warning("PDF renderer refused a non-local resource (scheme %r)", parts.scheme)
                raise FetchRefused(f"only the evaluation's own files may be used; refused scheme {parts.scheme!r}")
            path = Path(unquote(parts.path)).resolve()
            if not _inside(path, roots) or not path.is_file():
                log.warning("PDF renderer refused a file outside the evaluation's folders")
                raise FetchRefused("only the evaluation's own files may be used; refused a file outside them")
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})

    return _LocalOnlyFetcher()
