"""What keeps the embedded default (DEBUG on) safe wherever it is started: keys of its own, local hosts only.

Read by the settings module, so nothing here imports Django beyond its exceptions.

Keys. No key from the repository signs or encrypts anything: a key the environment does not give (SECRET_KEY,
JWT_SIGNING_KEY, FIELD_ENCRYPTION_KEY) comes from a local key file, generated with random values on first run,
readable by its owner only (0600) and ignored by git. Processes starting at once (daphne and a worker) agree on
one file: each writes a complete candidate to a temporary file and hard-links it into place, which fails when the
file exists, and the loser reads the winner's. No process ever reads a half-written file.

Hosts. DEBUG shows tracebacks and settings and keeps every SQL query in memory: a deployment that forgot DEBUG=0
and names its public host in ALLOWED_HOSTS refuses to start (`local_hosts_only`). A client that is not local
still never sees a debug page (whatsapp_hub.middleware).
"""

import ipaddress
import json
import os
import secrets
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

KEY_NAMES = ("secret_key", "jwt_signing_key", "field_encryption_key")
LOCAL_HOST_NAMES = frozenset({"localhost", "testserver"})


def local_keys(path: Path) -> dict[str, str]:
    """The keys in the local key file at `path`, which is created (0600) with random keys when missing."""
    try:
        return _read(path)
    except FileNotFoundError:
        return _create(path)


def _new_keys() -> dict[str, str]:
    return {
        "secret_key": secrets.token_urlsafe(50),
        "jwt_signing_key": secrets.token_urlsafe(50),
        "field_encryption_key": Fernet.generate_key().decode(),
    }


def _create(path: Path) -> dict[str, str]:
    """Create the key file, or read the one another process created first."""
    try:
        fd, candidate = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Cannot create the local key file {path} ({exc.strerror}): set LOCAL_KEYS_FILE to a writable path, "
            "or SECRET_KEY, JWT_SIGNING_KEY and FIELD_ENCRYPTION_KEY."
        ) from None
    try:
        keys = _new_keys()
        with os.fdopen(fd, "w") as file:
            json.dump(keys, file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(candidate, path)  # atomic, and never replaces an existing file
        except FileExistsError:
            return _read(path)
        return keys
    finally:
        os.unlink(candidate)


def _read(path: Path) -> dict[str, str]:
    with path.open() as file:
        if os.name == "posix" and os.fstat(file.fileno()).st_mode & 0o077:
            raise ImproperlyConfigured(
                f"The local key file {path} is readable by other users: `chmod 600 {path}` (it holds the keys that "
                "sign sessions and encrypt the stored WhatsApp secrets)."
            )
        try:
            keys = json.load(file)
        except ValueError:
            keys = None
    if not (isinstance(keys, dict) and all(isinstance(keys.get(name), str) and keys[name] for name in KEY_NAMES)):
        raise ImproperlyConfigured(
            f"{path} is not a key file of WhatsApp Hub (a JSON object with {', '.join(KEY_NAMES)}). Restore it; "
            "deleting it makes a new one, and the secrets encrypted under the old key unreadable."
        )
    return {name: keys[name] for name in KEY_NAMES}


def _is_local(host: str) -> bool:
    host = host.lower().removeprefix("[").removesuffix("]")
    if host in LOCAL_HOST_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global  # loopback, private, link-local


def local_hosts_only(hosts: list[str]) -> list[str]:
    """`hosts` (ALLOWED_HOSTS with DEBUG on) when each is this machine or a private address; else refuse to start."""
    public = [host for host in hosts if not _is_local(host)]
    if public:
        raise ImproperlyConfigured(
            f"DEBUG is on (the default) while ALLOWED_HOSTS names public hosts ({', '.join(public)}): a deployment "
            "sets DEBUG=0. DEBUG is for a local run only (localhost, loopback and private addresses)."
        )
    return hosts
