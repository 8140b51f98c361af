"""Tests for utils.chapters.download: checksum-verified, cached downloads and safe extraction, with no network.

Every "remote" file is a file the test writes into tmp_path and fetches through a file:// URL.
"""

import hashlib
import io
import tarfile
import urllib.error
import urllib.request
import zipfile

import pytest

from utils.chapters import download as dl
from utils.chapters.download import DownloadError, download, sha256_of


def _sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def remote(tmp_path):
    """A 'server' folder and a helper that publishes bytes there, returning (url, sha256)."""
    server = tmp_path / "server"
    server.mkdir()

    def publish(name, data):
        path = server / name
        path.write_bytes(data)
        return path.as_uri(), _sha(data)

    return publish


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("COURSE_CACHE_DIR", str(folder))
    return folder


def _no_network(*args, **kwargs):
    raise AssertionError("the network was used although the file is cached")


def _make_tar(path, members, mode="w"):
    """members: name -> bytes; written as a tar (mode 'w' or 'w:gz')."""
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "x.bin"
    data = bytes(range(256)) * 5000
    path.write_bytes(data)
    assert sha256_of(path) == _sha(data)
    assert sha256_of(str(path), chunk_size=7) == _sha(data)


def test_download_into_env_cache_dir(remote, cache, capsys):
    url, sha = remote("data.bin", b"hello faces")
    path = download(url, sha)
    assert path == cache / "data.bin"
    assert path.read_bytes() == b"hello faces"
    assert "Downloading" in capsys.readouterr().out
    assert [p.name for p in cache.iterdir()] == ["data.bin"]  # no temporary files left behind


def test_default_cache_dir_is_under_home(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dl.default_cache_dir() == tmp_path / ".cache" / "course-image-generation"
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert dl.default_cache_dir() == tmp_path / "elsewhere"


def test_explicit_cache_dir_filename_and_uppercase_checksum(remote, cache, tmp_path):
    url, sha = remote("data.bin", b"abc")
    path = download(url, sha.upper(), cache_dir=tmp_path / "mine", filename="renamed.bin", verbose=False)
    assert path == tmp_path / "mine" / "renamed.bin" and path.read_bytes() == b"abc"
    assert not cache.exists()


def test_cache_hit_does_not_touch_the_network(remote, cache, monkeypatch, tmp_path, capsys):
    url, sha = remote("data.bin", b"cached bytes")
    first = download(url, sha)
    (tmp_path / "server" / "data.bin").unlink()  # the "server" is gone
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    assert download(url, sha) == first
    assert "Using cached" in capsys.readouterr().out


def test_checksum_mismatch_raises_and_keeps_nothing(remote, cache):
    url, sha = remote("data.bin", b"the real content")
    wrong = _sha(b"something else")
    with pytest.raises(DownloadError) as err:
        download(url, wrong)
    message = str(err.value)
    assert wrong in message and sha in message and "not kept" in message
    assert list(cache.iterdir()) == []


def test_offline_raises_helpful_error(cache, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    url, sha = "https://example.org/files/faces.zip", "a" * 64
    with pytest.raises(DownloadError) as err:
        download(url, sha)
    message = str(err.value)
    assert "offline" in message and url in message
    assert str(cache / "faces.zip") in message and "a" * 64 in message and "manually" in message
    assert list(cache.iterdir()) == []
    assert isinstance(err.value, RuntimeError)


def test_missing_file_url_is_reported_like_offline(cache, tmp_path):
    url = (tmp_path / "nowhere" / "faces.zip").as_uri()
    with pytest.raises(DownloadError, match="place the file manually"):
        download(url, "b" * 64)


def test_http_error_names_the_status(cache, monkeypatch):
    def not_found(url, *args, **kwargs):
        raise urllib.error.HTTPError(url, 404, "Not Found", None, None)

    monkeypatch.setattr(urllib.request, "urlopen", not_found)
    with pytest.raises(DownloadError, match="HTTP 404"):
        download("https://example.org/gone.zip", "c" * 64)


def test_differing_user_file_is_not_overwritten_silently(remote, cache):
    url, sha = remote("data.bin", b"new content")
    cache.mkdir()
    (cache / "data.bin").write_bytes(b"my own file")
    with pytest.raises(DownloadError, match="overwrite=True"):
        download(url, sha)
    assert (cache / "data.bin").read_bytes() == b"my own file"
    assert download(url, sha, overwrite=True).read_bytes() == b"new content"


@pytest.mark.parametrize("sha", ["abc", "z" * 64, 123])
def test_bad_checksum_argument(sha):
    with pytest.raises((ValueError, TypeError), match="64"):
        download("file:///x.bin", sha)


def test_url_without_file_name_needs_filename(cache):
    with pytest.raises(ValueError, match="filename"):
        download("https://example.org/", "d" * 64)


def test_extract_unsupported_type_fails_before_downloading(remote, cache):
    url, sha = remote("data.bin", b"x")
    with pytest.raises(ValueError, match=".zip"):
        download(url, sha, extract=True)
    assert not cache.exists() or list(cache.iterdir()) == []


@pytest.mark.parametrize("name, mode", [("faces.tar", "w"), ("faces.tar.gz", "w:gz"), ("faces.tgz", "w:gz"),
                                        ("faces.zip", None)])
def test_extract_archives_once(tmp_path, cache, monkeypatch, name, mode):
    archive = tmp_path / name
    members = {"faces/a.txt": b"A", "faces/sub/b.txt": b"B"}
    if mode is None:
        with zipfile.ZipFile(archive, "w") as zf:
            for member, data in members.items():
                zf.writestr(member, data)
    else:
        _make_tar(archive, members, mode)
    sha = sha256_of(archive)
    folder = download(archive.as_uri(), sha, extract=True)
    assert folder == cache / "faces_extracted"
    assert (folder / "faces" / "a.txt").read_bytes() == b"A"
    assert (folder / "faces" / "sub" / "b.txt").read_bytes() == b"B"
    # second call: no download and no second extraction
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    monkeypatch.setattr(dl, "_extract_to", _no_network)
    assert download(archive.as_uri(), sha, extract=True) == folder
    assert sorted(p.name for p in cache.iterdir()) == [name, "faces_extracted"]


def test_extract_refuses_existing_foreign_folder(tmp_path, cache):
    archive = tmp_path / "faces.tar"
    _make_tar(archive, {"a.txt": b"A"})
    sha = sha256_of(archive)
    (cache / "faces_extracted").mkdir(parents=True)
    (cache / "faces_extracted" / "notes.txt").write_text("mine")
    with pytest.raises(DownloadError, match="overwrite=True"):
        download(archive.as_uri(), sha, extract=True)
    assert (cache / "faces_extracted" / "notes.txt").read_text() == "mine"
    folder = download(archive.as_uri(), sha, extract=True, overwrite=True)
    assert (folder / "a.txt").read_bytes() == b"A" and not (folder / "notes.txt").exists()


@pytest.mark.parametrize("evil", ["../evil.txt", "ok/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt",
                                  "..\\evil.txt"])
def test_extraction_refuses_path_traversal_in_zip(tmp_path, cache, evil):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", b"ok")
        zf.writestr(evil, b"pwned")
    with pytest.raises(DownloadError, match="Refusing to extract"):
        download(archive.as_uri(), sha256_of(archive), extract=True)
    assert not (cache / "bad_extracted").exists()
    assert not (tmp_path / "evil.txt").exists() and not (cache / "evil.txt").exists()
    assert sorted(p.name for p in cache.iterdir()) == ["bad.zip"]  # no half-extracted temp folder


def test_extraction_refuses_traversal_and_links_in_tar(tmp_path, cache):
    archive = tmp_path / "bad.tar.gz"
    _make_tar(archive, {"fine.txt": b"ok", "../evil.txt": b"pwned"}, "w:gz")
    with pytest.raises(DownloadError, match=r"\.\./evil\.txt"):
        download(archive.as_uri(), sha256_of(archive), extract=True)

    linked = tmp_path / "link.tar"
    with tarfile.open(linked, "w") as tf:
        info = tarfile.TarInfo("innocent")
        info.type, info.linkname = tarfile.SYMTYPE, "../../etc/passwd"
        tf.addfile(info)
    with pytest.raises(DownloadError, match="innocent"):
        download(linked.as_uri(), sha256_of(linked), extract=True)
    assert not (cache / "link_extracted").exists() and not (cache / "bad_extracted").exists()


def test_corrupt_archive_is_reported(tmp_path, cache):
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"this is not an archive")
    with pytest.raises(DownloadError, match="not a readable zip or tar archive"):
        download(archive.as_uri(), sha256_of(archive), extract=True)


def test_unusable_cache_folder_is_explained(remote, tmp_path, monkeypatch):
    url, sha = remote("data.bin", b"x")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(DownloadError, match="COURSE_CACHE_DIR"):
        download(url, sha)


def test_write_failure_is_not_called_offline(remote, cache, monkeypatch):
    url, sha = remote("data.bin", b"x" * 100)

    class FullDisk:
        def write(self, chunk):
            raise OSError(28, "No space left on device")

    real_write = dl._write
    monkeypatch.setattr(dl, "_write", lambda out, chunk, *where: real_write(FullDisk(), chunk, *where))
    with pytest.raises(DownloadError, match="free disk space") as err:
        download(url, sha)
    assert "offline" not in str(err.value)
    assert list(cache.iterdir()) == []


# ---------------------------------------------------------- what a clumsy or hostile caller does
@pytest.mark.parametrize("evil", ["../outside.bin", "/tmp/abs.bin", "sub/inner.bin", "..", ".",
                                  "..\\win.bin", ""])
def test_filename_cannot_write_outside_the_cache_folder(remote, cache, tmp_path, evil):
    url, sha = remote("data.bin", b"payload")
    with pytest.raises(ValueError, match="must be a plain file name") as info:
        download(url, sha, filename=evil)
    assert repr(evil) in str(info.value) and "cache_dir=" in str(info.value)
    assert not (tmp_path / "outside.bin").exists() and not cache.exists()


def test_a_url_whose_name_climbs_out_is_refused(cache, tmp_path):
    with pytest.raises(ValueError, match="the URL's file name must be a plain file name"):
        download("https://example.com/files/..", "0" * 64)


def test_a_part_file_left_by_a_killed_download_is_removed_on_the_next_try(remote, cache, capsys):
    url, sha = remote("data.bin", b"complete file")
    cache.mkdir()
    leftover = cache / ".data.bin.k1ll3d.part"  # what _fetch's mkstemp names it
    leftover.write_bytes(b"compl")
    other = cache / ".other.bin.abc.part"  # another file's download: not ours to remove
    other.write_bytes(b"x")
    path = download(url, sha)
    assert path.read_bytes() == b"complete file" and not leftover.exists() and other.exists()
    assert "Removed .data.bin.k1ll3d.part, a partial download" in capsys.readouterr().out


@pytest.mark.parametrize("name, mode", [("faces.tar.gz", "w:gz"), ("faces.zip", "zip")])
def test_a_truncated_archive_whose_checksum_matches_gets_a_clear_error(tmp_path, cache, name, mode):
    full = tmp_path / f"full-{name}"
    members = {f"img{i}.bin": bytes(range(256)) * 64 for i in range(8)}
    if mode == "zip":
        with zipfile.ZipFile(full, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for member, data in members.items():
                zf.writestr(member, data)
    else:
        _make_tar(full, members, mode)
    truncated = tmp_path / name
    truncated.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    with pytest.raises(DownloadError) as info:
        download(truncated.as_uri(), sha256_of(truncated), extract=True)  # the checksum "matches"
    message = str(info.value)
    assert "has the expected sha256" in message and "truncated, damaged" in message
    assert "download the archive again" in message and "Nothing was extracted" in message
    assert not any(p.name.endswith("_extracted") for p in cache.iterdir())
