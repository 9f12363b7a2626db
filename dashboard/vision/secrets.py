"""Camera addresses at rest: sealed with a key kept in the data directory, never in clear.

A source may also name environment variables set for the purpose (named CAMERA_...),
`rtsp://${CAMERA_USER}:${CAMERA_PASS}@host/live`: then the stored text holds only the names,
and the values are filled in each time the camera opens. Only such variables: an address is
typed by an admin on a page, and must not reach the rest of the server's environment (its
admin password, its database URL). The values filled in are masked wherever text is masked
(`sources.mask_secrets`): status, API, log.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from dashboard.errors import DashboardError

KEY_FILE = "source.key"
ENV_PREFIX = "CAMERA_"   # the only variables a camera address may name
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_filled: set[str] = set()        # values filled in so far: masked in every text shown
_filled_lock = threading.Lock()
MIN_MASKED = 4   # shorter values (a port, a channel number) are not worth garbling text for


def expand_env(source: str) -> str:
    """Fill in `${CAMERA_...}` references from the environment; any other name is refused.

    Example:
        >>> os.environ["CAMERA_DOC_PASS"] = "s3cret"
        >>> expand_env("rtsp://admin:${CAMERA_DOC_PASS}@cam/live")
        'rtsp://admin:s3cret@cam/live'
        >>> expand_env("http://cam/?x=${HOME}")
        Traceback (most recent call last):
        dashboard.errors.DashboardError: The camera address names ${HOME}: only variables named CAMERA_... can be used in one (set CAMERA_HOME in the server's environment and name that).
    """
    env_names(source)

    def value(m: re.Match) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise DashboardError(f"The camera address names ${{{name}}}, which is not set "
                                 "in the server's environment.")
        filled = os.environ[name]
        if len(filled) >= MIN_MASKED:
            with _filled_lock:
                _filled.add(filled)
        return filled

    return _ENV_REF.sub(value, source)


def env_names(source: str) -> list[str]:
    """The variables an address names, each checked to be one it may name.

    Example:
        >>> env_names("rtsp://${CAMERA_USER}:${CAMERA_PASS}@cam/live")
        ['CAMERA_USER', 'CAMERA_PASS']
    """
    names = _ENV_REF.findall(source)
    for name in names:
        if not name.startswith(ENV_PREFIX):
            raise DashboardError(f"The camera address names ${{{name}}}: only variables named "
                                 f"{ENV_PREFIX}... can be used in one (set {ENV_PREFIX}{name} "
                                 "in the server's environment and name that).")
    return names


def mask_filled(text: str) -> str:
    """Hide every value `expand_env` has filled into an address.

    Example:
        >>> os.environ["CAMERA_DOC_TOKEN"] = "tok-123"
        >>> _ = expand_env("http://cam/live?x=${CAMERA_DOC_TOKEN}")
        >>> mask_filled("cannot open http://cam/live?x=tok-123")
        'cannot open http://cam/live?x=***'
    """
    with _filled_lock:
        values = sorted(_filled, key=len, reverse=True)
    for v in values:
        text = text.replace(v, "***")
    return text


class SourceVault:
    """Seals and opens camera addresses with a Fernet key (AES and HMAC) that is created on
    first use in the data directory, readable by its owner only.

    Example:
        >>> import tempfile
        >>> vault = SourceVault(Path(tempfile.mkdtemp()))
        >>> token = vault.seal("rtsp://admin:pw@cam/live")
        >>> "admin:pw@" in token, vault.open(token)   # a token is base64: no ":" or "@"
        (False, 'rtsp://admin:pw@cam/live')
    """

    def __init__(self, folder: Path) -> None:
        from cryptography.fernet import Fernet

        path = Path(folder) / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        self._fernet = Fernet(path.read_bytes().strip())
        self.path = path

    def seal(self, source: str) -> str:
        return self._fernet.encrypt(source.encode()).decode()

    def open(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            raise DashboardError(f"A camera address cannot be read with the key in {self.path}: "
                                 "was the key file replaced? Enter the address again.") from None
