"""Encrypted content-addressed storage: backends, key-encryption keys and blobs.

A pure core: it imports nothing from ``governance`` or ``flows``; its only I/O seams
are the :class:`~storage.backends.Backend` interface and the key file.
"""

from storage.backends import Backend, FsspecBackend, LocalBackend, open_backend
from storage.blobs import BlobStore, FileStamp, PendingObject, digest_file, object_key
from storage.keys import KeyEncryptionKey, TinkKeyset, WrappedKey, rewrap_data_key

__all__ = [
    "Backend",
    "BlobStore",
    "FileStamp",
    "FsspecBackend",
    "KeyEncryptionKey",
    "LocalBackend",
    "PendingObject",
    "TinkKeyset",
    "WrappedKey",
    "digest_file",
    "object_key",
    "open_backend",
    "rewrap_data_key",
]
