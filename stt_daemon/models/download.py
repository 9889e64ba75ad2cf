"""Fetch a file over HTTP(S) into a .part file, resuming with Range after a cut.

Only ever run at the user's request (`stt-daemon models download`); the daemon
itself opens no network connection.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from stt_daemon.errors import DownloadError

_LOGGER = logging.getLogger(__name__)

_CHUNK = 1 << 16


Progress = Callable[[int, int | None], None]  # bytes so far, total if known


def _total_from(response: http.client.HTTPResponse, have: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    found = re.match(r"bytes \d+-\d+/(\d+)", content_range)
    if found:
        return int(found.group(1))
    length = response.headers.get("Content-Length")
    return have + int(length) if length and length.isdigit() else None


def fetch(url: str, part: Path, progress: Progress, attempts: int = 5, timeout_s: float = 30) -> int:
    """Download ``url`` into ``part``, continuing what is there; returns the size."""
    part.parent.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for attempt in range(1, attempts + 1):
        have = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                if have and response.status != 206:  # the server ignored Range: start over
                    have = 0
                total = _total_from(response, have)
                with part.open("ab" if have else "wb") as f:
                    done = have
                    progress(done, total)
                    while chunk := response.read(_CHUNK):
                        f.write(chunk)
                        done += len(chunk)
                        progress(done, total)
            if total is None or done >= total:
                return done
            last_error = f"connection closed at {done} of {total} bytes"
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # nothing left to fetch
                return have
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}; check the address") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            last_error = str(getattr(exc, "reason", exc))
        _LOGGER.warning("download interrupted (%s); resuming (try %d of %d)", last_error, attempt + 1, attempts)
    raise DownloadError(f"{url}: download failed ({last_error}); run the same command again to resume")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
