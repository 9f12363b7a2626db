"""Camera addresses at rest: sealed with a key kept in the data directory, never in clear.

A source may also name environment variables set for the purpose (named CAMERA_...),
`rtsp://${CAMERA_USER}:${CAMERA_PASS}@host/live`: then the stored text holds only the names,
and the values are filled in each time the camera opens. Only such variables: an address is
typed by an admin on a page, and must not reach the rest of the server's environment (its
admin password, its database URL). The values filled in are masked wherever text is masked
(`mask_secrets`): status, API, log.
"""
from __future__ import annotations

import logging
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


# The user-info part of a URL runs to the last "@" on its line (before any other "://")
# that is followed by a host name: operators type passwords with "@", "/", ":" and spaces
# in them unencoded, and all of it is hidden. Erring this way can hide a little more than
# the credentials (an e-mail address later on the line), never less.
_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?:(?!://)[^\n])*@"
    r"(?=(?:[\w.\-~%]+|\[[0-9a-fA-F:.]+\])(?::\d*)?(?:[/?#\s,;)\]'\"]|$)|/)")  # or no host
# Query or fragment parameters whose name says they hold a secret (api_key, access_token,
# X-Amz-Signature, credentials, ...).
_SECRET_PARAMS = re.compile(
    r"(?i)(?P<name>[\w.\-]*(?:pass|pwd|token|key|auth|secret|sig|credential)[\w.\-]*)="
    r"[^&\s#]*")


# A URL's path and query (after its scheme and host), to the next white space.
_URL_REST = re.compile(r"(?P<path>(?<=://)[^\s?#]*)(?P<query>\?[^\s#]*)?")
_QUERY_VALUE = re.compile(r"(?P<name>[^?&=\s]+)=[^&#\s]*")
# A path part that looks like a key: 16 or more letters, digits, - and _, with both
# letters and digits in it (a "/Streaming/Channels/101" is left as it is).
_PATH_KEY = re.compile(r"(?<=/)(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{16,}(?=[/]|$)")


def mask_secrets(text: str) -> str:
    """Hide credentials in any text that may hold a URL: user and password, the value of
    every query parameter of a URL (a camera's `pw=`, `p=` or `code=` says nothing of what
    it holds), path parts that look like keys, and outside URLs every parameter whose name
    says it is a secret.

    Example:
        >>> mask_secrets("rtsp://admin:hunter2@10.0.0.5/live?token=abc&ch=1")
        'rtsp://***@10.0.0.5/live?token=***&ch=***'
        >>> mask_secrets("rtsp://admin:p@ss/w rd@cam:554/live?api_key=k1&apikey=k2")
        'rtsp://***@cam:554/live?api_key=***&apikey=***'
        >>> mask_secrets("http://cam/api/3f9a2b1c4d5e6f7a8b/mjpg and password=x")
        'http://cam/api/***/mjpg and password=***'
    """
    text = _CREDENTIALS.sub(lambda m: m.group("scheme") + "***@", text)
    text = _URL_REST.sub(lambda m: _PATH_KEY.sub("***", m.group("path"))
                         + _QUERY_VALUE.sub(r"\g<name>=***", m.group("query") or ""), text)
    text = _SECRET_PARAMS.sub(lambda m: m.group("name") + "=***", text)
    # Last: masking a filled-in host first would hide from the patterns above where the
    # user and password end.
    return mask_filled(text)


class SecretFilter(logging.Filter):
    """A logging filter that masks credentials in every record it passes.

    Example:
        >>> logging.getLogger().handlers[0].addFilter(SecretFilter())  # doctest: +SKIP
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_secrets(record.getMessage())
        record.args = None
        return True
