"""Fetch a file over HTTP(S) into a .part file, resuming with Range after a cut.

Only ever run at the user's request (`stt-daemon models download`); the daemon
itself opens no network connection.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import re
import socket
import time
import urllib.error
import urllib.parse
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


#: Waits between tries: five tries in all, then the user runs the command again (it resumes).
BACKOFF_S = (1.0, 2.0, 4.0, 8.0)


def _unreachable(exc: BaseException) -> bool:
    """The host cannot be found or reached at all: no network, not a cut."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror | ConnectionRefusedError):
        return True
    return isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH)


def fetch(url: str, part: Path, progress: Progress, backoff_s: tuple[float, ...] = BACKOFF_S,
          timeout_s: float = 30, sleep: Callable[[float], None] = time.sleep) -> int:
    """Download ``url`` into ``part``, continuing what is there; returns the size.

    A cut resumes where it stopped after a growing pause; a host that cannot be reached
    at all fails at once with one line that says so.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    tries = len(backoff_s) + 1
    problem = ""
    for attempt in range(1, tries + 1):
        have = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        done = have
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                if have and response.status != 206:  # the server ignored Range: start over
                    have = done = 0
                total = _total_from(response, have)
                with part.open("ab" if have else "wb") as f:
                    progress(done, total)
                    while chunk := response.read(_CHUNK):
                        f.write(chunk)
                        done += len(chunk)
                        progress(done, total)
            if total is None or done >= total:
                return done
            problem = f"the connection closed at {done / 2**20:.1f} of {total / 2**20:.1f} MB"
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # nothing left to fetch
                return have
            raise DownloadError(f"{url}: the server answered HTTP {exc.code} {exc.reason}; "
                                "check the address, or try again later") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            if _unreachable(exc) and done == 0:
                host = urllib.parse.urlsplit(url).hostname
                raise DownloadError(f"no network: cannot reach {host} ({getattr(exc, 'reason', exc)}); "
                                    "connect to the internet and run the same command again") from None
            problem = str(getattr(exc, "reason", exc))
        if attempt == tries:
            break
        delay_s = backoff_s[attempt - 1]
        if done:
            _LOGGER.warning("download cut (%s) at %.1f MB; resuming in %g s (try %d of %d)",
                            problem, done / 2**20, delay_s, attempt + 1, tries)
        else:
            _LOGGER.warning("download failed (%s); trying again in %g s (try %d of %d)",
                            problem, delay_s, attempt + 1, tries)
        sleep(delay_s)
    kept = part.exists() and part.stat().st_size > 0
    raise DownloadError(f"{url}: download failed after {tries} tries ({problem}); " +
                        ("run the same command again to resume" if kept else "check the network and try again"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
