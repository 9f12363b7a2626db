"""Camera addresses at rest: sealed with a key kept in the data directory, never in clear.

A source may also name environment variables, `rtsp://${CAM_USER}:${CAM_PASS}@host/live`:
then the stored text holds only the names, and the values are filled in when the camera
opens.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import DashboardError

KEY_FILE = "source.key"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(source: str) -> str:
    """Fill in `${VAR}` references from the environment.

    Example:
        >>> os.environ["DOC_CAM_PASS"] = "s3cret"
        >>> expand_env("rtsp://admin:${DOC_CAM_PASS}@cam/live")
        'rtsp://admin:s3cret@cam/live'
    """
    def value(m: re.Match) -> str:
        if m.group(1) not in os.environ:
            raise DashboardError(f"The camera address names ${{{m.group(1)}}}, which is not set "
                                 "in the server's environment.")
        return os.environ[m.group(1)]

    return _ENV_REF.sub(value, source)


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
