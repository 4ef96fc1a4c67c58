"""Attachments: receiving an upload, checking and cleaning it, and keeping it.

- The upload is read as a stream (python-multipart's parser) straight into a
  temporary file in the store, hashing as it goes, and abandoned the moment it
  passes the size limit: nothing big is held in memory, nothing half-written stays.
- What the file is comes from its content (``core.files.classify``). Images are
  decoded and saved again by Pillow: a broken image is refused, metadata such as
  EXIF (camera, GPS) is dropped, the orientation is applied, and a thumbnail made.
- ``FileStore`` keeps files under random names outside any served folder, encrypted
  (AES-256-GCM, ``privacy.crypto``); ``DiskFileStore`` is the default, an object store can
  replace it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from .core.files import IMAGE_TYPES, SNIFF_BYTES, check_size, classify
from .exceptions import ClientError, StoreError
from .pools import BoundedPool
from .privacy.crypto import FileCipher, load_key_file, parse_key
from .store.records import AttachmentRecord

if TYPE_CHECKING:
    from .config import Settings

__all__ = [
    "DiskFileStore",
    "FileStore",
    "Kept",
    "Upload",
    "delete_files",
    "file_store",
    "keep_upload",
    "read_upload",
]

THUMB_SIZE = (320, 320)
MAX_SIDE = 4096  # a kept image is at most this wide and high (larger ones are scaled down)
Image.MAX_IMAGE_PIXELS = 40_000_000  # a last guard; max_image_pixels refuses before it


class FileStore(Protocol):
    def new_temp(self) -> Path:
        """A fresh path to write an upload to, on the same volume as the kept files."""
        ...

    def keep(self, temp: Path) -> str:
        """Encrypt a finished temporary file into the store; returns its key (the temporary
        file goes). Blocking: call it on a pool."""
        ...

    def read(self, key: str) -> bytes:
        """A kept file's bytes, decrypted (blocking: on a pool); FileNotFoundError if it is
        gone, StoreError if it was altered."""
        ...

    def delete(self, key: str) -> None: ...


class DiskFileStore:
    """Files under ``root/ab/<random key>``, encrypted (``privacy.crypto``); temporary ones
    under ``root/tmp`` (plain, only while an upload is checked)."""

    def __init__(self, root: str | os.PathLike[str], cipher: FileCipher) -> None:
        self.cipher = cipher
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        try:
            self.tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot use file folder {self.root}: {exc.strerror}") from exc
        for stale in self.tmp.iterdir():  # left by a crash mid-upload
            stale.unlink(missing_ok=True)

    def new_temp(self) -> Path:
        return self.tmp / secrets.token_hex(16)

    def keep(self, temp: Path) -> str:
        key = secrets.token_hex(16)
        self._write(key, self.cipher.encrypt(temp.read_bytes(), key))
        temp.unlink(missing_ok=True)
        return key

    def _write(self, key: str, blob: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(exist_ok=True)
        part = self.new_temp()
        part.write_bytes(blob)
        os.replace(part, target)  # atomic on one volume: the file is whole or absent

    def read(self, key: str) -> bytes:
        return self.cipher.decrypt(self.path(key).read_bytes(), key)

    def path(self, key: str) -> Path:
        if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError("not a file key")
        return self.root / key[:2] / key

    def delete(self, key: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.path(key).unlink()

    def rekey(self) -> tuple[int, int]:
        """Encrypt again, under the current key, every file under an older key (or none);
        returns (files rewritten, files already current)."""
        done = kept = 0
        for folder in sorted(self.root.iterdir()):
            if folder.name == "tmp" or not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                blob = path.read_bytes()
                if self.cipher.is_current(blob):
                    kept += 1
                    continue
                plain = self.cipher.decrypt(blob, path.name)
                self._write(path.name, self.cipher.encrypt(plain, path.name))
                done += 1
        return done, kept


def delete_files(files: FileStore, keys: list[str]) -> None:
    """Delete kept files (blocking: on a pool); a file already gone is no error."""
    for key in keys:
        files.delete(key)


def file_store(settings: Settings) -> DiskFileStore:
    """The files folder with its key: ``files_key``, or else a key file made beside the
    folder (never inside it, so a copy of the folder alone reveals nothing)."""
    root = Path(settings.files_dir)
    if settings.files_key:
        key = parse_key(settings.files_key)
    else:
        key = load_key_file(root.parent / f"{root.name}.key")
    old = [parse_key(k, "files_old_keys") for k in settings.files_old_keys]
    return DiskFileStore(root, FileCipher(key, old))


@dataclass(frozen=True, slots=True)
class Upload:
    """A received file, still in its temporary place."""

    name: str | None
    path: Path
    size: int
    head: bytes
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Kept:
    """A checked, cleaned file in the store, ready to be recorded."""

    key: str
    content_type: str
    size: int
    sha256: str
    thumb_key: str | None
    width: int | None
    height: int | None

    def record(
        self, file_id: str, chat_id: str, name: str, uploaded_by: str, now: float
    ) -> AttachmentRecord:
        """The attachment row that records it."""
        return AttachmentRecord(
            id=file_id, chat_id=chat_id, name=name, content_type=self.content_type,
            size=self.size, sha256=self.sha256, storage_key=self.key, thumb_key=self.thumb_key,
            width=self.width, height=self.height, uploaded_by=uploaded_by, created_at=now,
        )  # fmt: skip


_FIELD_MAX = 1024


async def read_upload(request: Request, files: FileStore, limit: int) -> Upload:
    """Stream a multipart upload (one ``file`` part, small text fields) into a temp file."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise ClientError("bad_upload", "send the file as multipart/form-data", status=400)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
        check_size(int(declared), limit)  # refuse before reading a byte

    temp = files.new_temp()
    state: dict[str, object] = {"name": None, "field": None, "file": False, "size": 0}
    fields: dict[str, str] = {}
    header_field = bytearray()
    header_value = bytearray()
    headers: dict[bytes, bytes] = {}
    buffer = bytearray()
    head = bytearray()
    out: IO[bytes] | None = None

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        nonlocal out
        _, disp = parse_options_header(headers.get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        if filename is not None and name == "file" and not state["file"]:
            state["file"] = True
            state["name"] = filename.decode("utf-8", "replace")
            out = temp.open("wb")
        else:
            state["field"] = name
        buffer.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if out is not None:
            size = int(state["size"]) + len(chunk)  # type: ignore[call-overload]
            state["size"] = size
            if size > limit:
                raise _TooLarge
            if len(head) < SNIFF_BYTES:
                head.extend(chunk[: SNIFF_BYTES - len(head)])
            out.write(chunk)
        elif len(buffer) + len(chunk) <= _FIELD_MAX:
            buffer.extend(chunk)

    def on_part_end() -> None:
        nonlocal out
        if out is not None:
            out.close()
            out = None
        elif state["field"]:
            fields[str(state["field"])] = buffer.decode("utf-8", "replace")
        headers.clear()
        state["field"] = None

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except _TooLarge:
        _discard(out, temp)
        check_size(limit + 1, limit)
    except MultipartParseError:
        _discard(out, temp)
        raise ClientError("bad_upload", "the upload is not valid multipart/form-data") from None
    except BaseException:  # the client went away mid-upload
        _discard(out, temp)
        raise
    if not state["file"]:
        _discard(out, temp)
        raise ClientError("bad_upload", "no file part named 'file'", field="file")
    try:
        check_size(int(state["size"]), limit)  # type: ignore[call-overload]
    except ClientError:
        _discard(out, temp)
        raise
    return Upload(state["name"], temp, int(state["size"]), bytes(head), fields)  # type: ignore[arg-type, call-overload]


class _TooLarge(Exception):
    pass


def _discard(out: IO[bytes] | None, temp: Path) -> None:
    if out is not None:
        out.close()
    temp.unlink(missing_ok=True)


async def keep_upload(
    upload: Upload,
    files: FileStore,
    allowed: tuple[str, ...],
    pool: BoundedPool,
    max_pixels: int = 25_000_000,
) -> Kept:
    """Check the upload by content, clean images, make a thumbnail, keep it. The temp goes.

    The work runs on ``pool`` (hashing, and for images decoding and encoding): a full
    pool answers ``busy`` at once."""
    try:
        content_type = classify(upload.head, allowed)
        return await pool.run(_keep, upload, files, content_type, max_pixels)
    finally:
        upload.path.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def _keep(upload: Upload, files: FileStore, content_type: str, max_pixels: int) -> Kept:
    if content_type not in IMAGE_TYPES:
        digest = _sha256(upload.path)
        key = files.keep(upload.path)
        return Kept(key, content_type, upload.size, digest, None, None, None)
    clean, thumb = files.new_temp(), files.new_temp()
    try:
        width, height = _clean_image(upload.path, clean, thumb, content_type, max_pixels)
        size, digest = clean.stat().st_size, _sha256(clean)
        return Kept(files.keep(clean), content_type, size, digest, files.keep(thumb), width, height)
    finally:
        clean.unlink(missing_ok=True)
        thumb.unlink(missing_ok=True)


_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def _too_many_pixels(max_pixels: int) -> ClientError:
    return ClientError(
        "image_too_large",
        f"an image can have at most {max_pixels // 1_000_000} megapixels",
        field="file",
        status=413,
    )


def _clean_image(
    source: Path, clean: Path, thumb: Path, content_type: str, max_pixels: int
) -> tuple[int, int]:
    """Decode the first frame, drop metadata, apply orientation, save again; write a
    thumbnail. Its size is read from the header and checked before anything is decoded,
    and an animation keeps only its first frame (later frames are never decoded), so a
    small file cannot make us decode a huge canvas or thousands of frames."""
    fmt = _FORMATS[content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                img = Image.open(source)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise _too_many_pixels(max_pixels) from None
            with img:
                width, height = img.size
                if width * height > max_pixels:
                    raise _too_many_pixels(max_pixels)
                if fmt == "JPEG":
                    # decode at a reduced scale when that is still larger than we keep
                    img.draft("RGB", (MAX_SIDE, MAX_SIDE))
                img.load()  # the first frame only
                still = ImageOps.exif_transpose(img)
                if still.width > MAX_SIDE or still.height > MAX_SIDE:
                    still.thumbnail((MAX_SIDE, MAX_SIDE))
                if fmt == "JPEG" and still.mode not in ("RGB", "L"):
                    still = still.convert("RGB")
                # a new image without info: EXIF, XMP, comments and ICC text stay behind
                bare = Image.new(still.mode, still.size)
                if still.mode == "P":
                    bare.putpalette(still.getpalette() or [])
                bare.paste(still)
                options = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
                bare.save(clean, fmt, **options)
                # thumbnails are always JPEG: transparency is flattened onto white
                small = still.convert("RGBA")
                small.thumbnail(THUMB_SIZE)
                flat = Image.new("RGB", small.size, "white")
                flat.paste(small, mask=small.getchannel("A"))
                flat.save(thumb, "JPEG", quality=85)
                return still.size
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise ClientError(
            "file_damaged", "this image is damaged or cannot be read", field="file", status=422
        ) from exc
