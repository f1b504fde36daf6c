"""Export packages: checking an upload is a zip, and copying a stored package out once.

Packages are spooled: up to `SPOOL_MAX_MEMORY` bytes stay in memory, larger ones spill to a
temporary file, so a big export never has to fit in RAM.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

SPOOL_MAX_MEMORY = 8 * 1024 * 1024
COPY_CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class ArchivePackage:
    """A claimed package: its bytes (positioned at the start), file name and size."""

    file: IO[bytes]
    filename: str
    size: int


def is_readable_zip(package: IO[bytes]) -> bool:
    """Return True if `package` is a zip whose directory can be read (contents not inflated)."""
    try:
        with zipfile.ZipFile(package) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        package.seek(0)
    return True


def zip_content(archive: bytes | File) -> File:
    """Return the package as a Django File, refusing anything that is not a zip archive."""
    if isinstance(archive, bytes | bytearray):
        archive = ContentFile(bytes(archive))
    if not isinstance(archive, File):
        raise ValidationError({"archive": "Give the package as bytes or a Django File."})
    archive.seek(0)
    if not is_readable_zip(archive):
        raise ValidationError({"archive": "The package must be a .zip archive."})
    return archive


def spool() -> IO[bytes]:
    """Return an empty spooled temporary file; the caller closes it."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)


def read_package(stored_name: str, filename: str) -> ArchivePackage:
    """Copy a stored package into a spooled file; OSError if storage no longer has it."""
    copy = spool()
    try:
        with default_storage.open(stored_name, "rb") as source:
            shutil.copyfileobj(source, copy, COPY_CHUNK_SIZE)
    except OSError:
        copy.close()
        raise
    size = copy.tell()
    copy.seek(0, io.SEEK_SET)
    return ArchivePackage(file=copy, filename=filename, size=size)


def read_upload(stream, limit: int) -> IO[bytes] | None:
    """Copy at most `limit` bytes of `stream` into a spooled file; None if it holds more."""
    copy = spool()
    shutil.copyfileobj(LimitedReader(stream, limit + 1), copy, COPY_CHUNK_SIZE)
    if copy.tell() > limit:
        copy.close()
        return None
    copy.seek(0)
    return copy


class LimitedReader:
    """A file-like view of `stream` that yields at most `limit` bytes."""

    def __init__(self, stream, limit: int) -> None:
        self.stream, self.left = stream, limit

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        chunk = self.stream.read(size) if size else b""
        self.left -= len(chunk)
        return chunk
