"""Ticket signing keys: Ed25519, stored sealed in the database, rotated with ``museum keys rotate``.

Gates only ever receive public keys, so a stolen gate device cannot mint tickets.
"""

from __future__ import annotations

import os
import threading
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from museum import db
from museum.models import SigningKey

MAX_KEY_ID = 255


def derive_key(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret.encode())


def _sealer() -> AESGCM:
    return AESGCM(derive_key(current_app.config["MUSEUM"].SECRET_KEY, "museum signing-key seal"))


def _seal(private: Ed25519PrivateKey) -> bytes:
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    nonce = os.urandom(12)
    return nonce + _sealer().encrypt(nonce, raw, b"ed25519")


def _unseal(sealed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_sealer().decrypt(sealed[:12], sealed[12:], b"ed25519"))


def seal_text(text: str, purpose: str) -> bytes:
    """``text`` encrypted with a key derived from SECRET_KEY for ``purpose`` (AES-GCM, nonce first), for
    personal data staff may need but nobody should read in a database dump (a leader's phone number)."""
    nonce = os.urandom(12)
    sealer = AESGCM(derive_key(current_app.config["MUSEUM"].SECRET_KEY, f"museum {purpose} seal"))
    return nonce + sealer.encrypt(nonce, text.encode(), purpose.encode())


def unseal_text(sealed: bytes, purpose: str) -> str:
    sealer = AESGCM(derive_key(current_app.config["MUSEUM"].SECRET_KEY, f"museum {purpose} seal"))
    return sealer.decrypt(sealed[:12], sealed[12:], purpose.encode()).decode()


def rotate_signing_key() -> int:
    """Add a new active signing key and retire the old one for signing (it still verifies). Returns its id."""
    with db.write_transaction() as session:
        key_id = _add_key(session)
    _cache.clear()
    return key_id


def _add_key(session) -> int:
    next_id = (session.scalar(select(func.max(SigningKey.id))) or 0) + 1
    if next_id > MAX_KEY_ID:
        raise RuntimeError("all 255 key ids are used")
    private = Ed25519PrivateKey.generate()
    session.execute(update(SigningKey).values(active=False))
    session.add(
        SigningKey(
            id=next_id,
            public_key=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
            private_key_sealed=_seal(private),
            active=True,
        )
    )
    session.flush()
    return next_id


class _KeyCache:
    """Keys read from the database, kept for a short while; rotation shows up within ``ttl`` seconds."""

    def __init__(self, ttl: float = 30.0):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._signing: tuple[int, Ed25519PrivateKey] | None = None
        self._public: dict[int, Ed25519PublicKey] = {}
        self._app_key: object = None

    def clear(self) -> None:
        with self._lock:
            self._loaded_at = 0.0

    def _fresh(self) -> bool:
        return self._app_key is current_app._get_current_object() and time.monotonic() - self._loaded_at < self.ttl

    def _load(self) -> None:
        # A session of its own: callers may be inside a read of their own, never inside a write.
        factory = db.get_db().session_factory
        with factory() as session:
            rows = session.scalars(select(SigningKey).order_by(SigningKey.id)).all()
        if not any(row.active for row in rows):
            try:
                with db.write_transaction() as session:
                    _add_key(session)
            except IntegrityError:
                pass  # another worker made the first key at the same moment
            with factory() as session:
                rows = session.scalars(select(SigningKey).order_by(SigningKey.id)).all()
        active = next(row for row in rows if row.active)
        self._signing = (active.id, _unseal(active.private_key_sealed))
        self._public = {row.id: Ed25519PublicKey.from_public_bytes(row.public_key) for row in rows}
        self._loaded_at = time.monotonic()
        self._app_key = current_app._get_current_object()

    def signing_key(self) -> tuple[int, Ed25519PrivateKey]:
        with self._lock:
            if not self._fresh():
                self._load()
            return self._signing

    def public_keys(self) -> dict[int, Ed25519PublicKey]:
        with self._lock:
            if not self._fresh():
                self._load()
            return dict(self._public)


_cache = _KeyCache()


def signing_key() -> tuple[int, Ed25519PrivateKey]:
    """The active key id and private key (created on first use)."""
    return _cache.signing_key()


def public_keys() -> dict[int, Ed25519PublicKey]:
    """Every key id's public key, retired ones included."""
    return _cache.public_keys()


def public_key_bytes() -> dict[int, bytes]:
    """Every key id's raw 32-byte public key, for gates that verify codes themselves."""
    return {key_id: key.public_bytes(Encoding.Raw, PublicFormat.Raw) for key_id, key in public_keys().items()}
