"""Download a file once, check its SHA-256, cache it, and optionally unpack it safely (chapter 06, section 2).

Used for the optional real face datasets of chapter 06. The course itself never needs the network
(the cartoon faces are drawn by `utils.synthesis`), so every failure here says what happened and how
to go on offline: put the file in the cache folder by hand.

Cache folder: `cache_dir` if given, else the environment variable ``COURSE_CACHE_DIR``, else
``~/.cache/course-image-generation``. `filename` is a plain name inside it (never a path), and
`.part` files that a killed download left are removed on the next try.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

__all__ = ["DownloadError", "default_cache_dir", "download", "sha256_of"]

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
_MARKER = ".extracted-from-sha256"  # written into an extracted folder once it is complete


class DownloadError(RuntimeError):
    """A download, checksum or extraction problem; the message says what to do about it."""


def default_cache_dir():
    """The cache folder: $COURSE_CACHE_DIR if set, else ~/.cache/course-image-generation."""
    env = os.environ.get("COURSE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "course-image-generation"


def sha256_of(path, chunk_size=1 << 20):
    """Hex SHA-256 of a file, read in chunks so large archives do not fill the memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(sha256):
    if not isinstance(sha256, str):
        raise TypeError(f"sha256 must be the expected checksum as a 64-character hex string, got {sha256!r}.")
    value = sha256.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"sha256 must be a 64-character hex string, got {sha256!r}.")
    return value


def _filename_from_url(url):
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    if not name:
        raise ValueError(f"Cannot tell a file name from the URL {url!r}; pass filename=...")
    return name


def _check_filename(name, where):
    """A plain file name: the file must land in the cache folder, never beside or above it."""
    if (not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name
            or "\x00" in name or (len(name) > 1 and name[1] == ":")):
        raise ValueError(
            f"{where} must be a plain file name such as 'faces.zip', stored inside the cache "
            f"folder; got {name!r}. To keep the file elsewhere, pass cache_dir=... (or set "
            "COURSE_CACHE_DIR)."
        )
    return name


def _remove_partial_downloads(target, verbose):
    """Delete `.part` files that a killed download of `target` left (a finished one leaves none)."""
    for leftover in target.parent.glob(f".{target.name}.*.part"):
        leftover.unlink()
        if verbose:
            print(f"Removed {leftover.name}, a partial download left by an interrupted run.")


def _fetch(url, target, expected):
    """Download `url` into a temporary file next to `target`, check it, then move it into place.

    The temporary file lives in the same folder so the final `os.replace` is atomic: a crash or a
    Ctrl-C never leaves a half-written file under the real name, and a bad file is never kept.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        got = _stream(url, fd, target, expected)
        if got != expected:
            raise DownloadError(
                f"Checksum mismatch for {url}: expected sha256 {expected}, got {got}. "
                "The downloaded file was not kept (it is corrupt, or the URL now serves another file)."
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _stream(url, fd, target, expected):
    """Copy the response into the open file `fd` while hashing it; return the hex SHA-256."""
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                _write(out, chunk, url, target)
    except urllib.error.HTTPError as err:
        raise DownloadError(
            f"The server answered {url} with HTTP {err.code} ({err.reason}). {_manual_hint(target, expected)}"
        ) from err
    except (OSError, http.client.HTTPException) as err:
        # URLError and socket errors are OSErrors: no network, DNS failure, refused or dropped
        # connection, a missing file:// path
        reason = getattr(err, "reason", err)
        raise DownloadError(
            f"Could not download {url} ({reason}). This machine seems to be offline, or the address "
            f"cannot be reached. {_manual_hint(target, expected)}"
        ) from err
    return digest.hexdigest()


def _write(out, chunk, url, target):
    """Write one chunk; a failure here is the disk's fault, not the network's, so say that."""
    try:
        out.write(chunk)
    except OSError as err:
        raise DownloadError(f"Could not save {url} to {target} ({err}). Check free disk space and that "
                            "the cache folder is writable, or choose another with COURSE_CACHE_DIR.") from err


def _manual_hint(target, expected):
    return (f"You can place the file manually at {target} (its sha256 must be {expected}); "
            "it will then be used without any network access.")


def _archive_stem(name):
    for suffix in _ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    raise ValueError(f"extract=True needs a .zip, .tar, .tar.gz or .tgz file; {name!r} is none of these.")


def _unsafe_member(name):
    """True for member names that would land outside the target folder."""
    norm = name.replace("\\", "/")  # a Windows-made archive may use backslashes
    parts = PurePosixPath(norm).parts
    return norm.startswith("/") or (bool(parts) and ":" in parts[0]) or ".." in parts


def _check_members(archive, names, extra_problems=()):
    bad = [n for n in names if _unsafe_member(n)] + list(extra_problems)
    if bad:
        raise DownloadError(
            f"Refusing to extract {archive.name}: member(s) {bad[:5]} would be written outside the target "
            "folder (absolute path, '..' or a link). The archive may be malicious; nothing was extracted."
        )


def _extract_to(archive, dest, expected):
    """Unpack `archive` into the new folder `dest` after checking every member name."""
    try:
        _unpack(archive, dest)
    except (EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError) as err:
        # The checksum matched, so this very file was asked for: it is damaged at the source.
        raise DownloadError(
            f"{archive} has the expected sha256 ({expected}) but is not a readable zip or tar "
            f"archive ({err}): it is truncated, damaged or another kind of file, and the checksum "
            f"passed is that of this very file. Delete {archive}, download the archive again from "
            "where it is published, and pass the checksum published with it. Nothing was "
            "extracted."
        ) from err


def _unpack(archive, dest):
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            _check_members(archive, zf.namelist())
            bad = zf.testzip()  # reads every member: a truncated zip fails here, not half-way
            if bad is not None:
                raise zipfile.BadZipFile(f"member {bad!r} is damaged (CRC mismatch)")
            zf.extractall(dest)
        return
    with tarfile.open(archive, "r:*") as tf:  # ReadError when it is neither zip nor tar
        members = tf.getmembers()
        links = [m.name for m in members if (m.issym() or m.islnk()) and _unsafe_member(m.linkname)]
        special = [m.name for m in members if not (m.isfile() or m.isdir() or m.issym() or m.islnk())]
        _check_members(archive, [m.name for m in members], links + special)
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: a second line of defence
            tf.extractall(dest, filter="data")
        else:  # pragma: no cover - older Pythons
            tf.extractall(dest)


def _extract_once(archive, expected, overwrite):
    """Extract next to the archive into `<name>_extracted`, only if not done before for this file."""
    dest = archive.with_name(_archive_stem(archive.name) + "_extracted")
    marker = dest / _MARKER
    if marker.is_file() and marker.read_text().strip() == expected:
        return dest
    if dest.exists():
        if not overwrite:
            raise DownloadError(
                f"{dest} already exists but was not extracted from this file (sha256 {expected}). "
                "Move it away or delete it, or pass overwrite=True to replace it."
            )
        shutil.rmtree(dest)
    # unpack into a temporary sibling and rename: a half-done extraction never looks finished
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=archive.parent))
    try:
        _extract_to(archive, tmp, expected)
        (tmp / _MARKER).write_text(expected + "\n")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest


def download(url, sha256, cache_dir=None, filename=None, extract=False, overwrite=False, verbose=True):
    """Return the local path of the file at `url`, downloading it only when it is not cached yet.

    - `sha256`: the expected checksum (hex); a cached file is used only when it matches, and a
      download is kept only when it matches.
    - `cache_dir`: folder to keep the file in (default: `default_cache_dir()`); `filename`: the name
      to store it under (default: the last part of the URL).
    - `extract=True`: unpack a .zip / .tar / .tar.gz / .tgz once into the sibling folder
      `<name>_extracted` (refusing members with absolute paths or '..') and return that folder.
    - a file already at the target path with another checksum is never replaced silently: a
      `DownloadError` explains, unless `overwrite=True`.

    Works with file:// URLs too. Raises `DownloadError` (a RuntimeError) when offline, when the server
    refuses, or when the checksum does not match; the message says how to place the file by hand.
    """
    expected = _check_sha256(sha256)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    name = _check_filename(filename, "filename") if filename is not None else None
    target = folder / (name or _check_filename(_filename_from_url(url), "the URL's file name"))
    if extract:
        _archive_stem(target.name)  # fail early on an unsupported type, before any download
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DownloadError(f"Cannot create the cache folder {folder} ({err}). Pass cache_dir=... or set "
                            "COURSE_CACHE_DIR to a writable folder.") from err
    _remove_partial_downloads(target, verbose)
    if target.exists():
        got = sha256_of(target)
        if got == expected:
            if verbose:
                print(f"Using cached {target}")
            return _extract_once(target, expected, overwrite) if extract else target
        if not overwrite:
            raise DownloadError(
                f"A different file already exists at {target} (sha256 {got}, expected {expected}). "
                "It was left untouched. Delete or move it to download again, or pass overwrite=True."
            )
    if verbose:
        print(f"Downloading {url} -> {target}")
    _fetch(url, target, expected)
    return _extract_once(target, expected, overwrite) if extract else target
