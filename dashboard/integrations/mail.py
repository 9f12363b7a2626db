"""`Mailer`: a message with attachments over SMTP, encrypted before any password is sent
(STARTTLS, required, for smtp://; TLS from the start for smtps://)."""
from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from dashboard.errors import DashboardError
from dashboard.vision.secrets import mask_secrets


class Mailer:
    """Sends through one SMTP server, given as smtp://user:password@host:port.

    Example:
        >>> m = Mailer("smtp://reports:pw@mail.example.com:587", "dash@example.com")
        >>> m.where
        'smtp://***@mail.example.com:587'
    """

    def __init__(self, url: str, sender: str, cafile: str | None = None,
                 timeout_s: float = 20.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise DashboardError(f"SMTP server {mask_secrets(url)!r}: use "
                                 "smtp://user:password@host:587 or smtps://...:465.")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 587)
        self.user = unquote(parts.username or "")
        self._password = unquote(parts.password or "")
        self.sender, self.timeout_s = sender, timeout_s
        self.where = mask_secrets(url)
        try:
            self._tls = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as e:
            raise DashboardError(f"SMTP: the CA file {cafile!r} cannot be read: {e}") from None

    def send(self, to: list[str], subject: str, text: str,
             attachments: list[tuple[str, str, bytes]] = ()) -> None:
        """One message to `to`, `text` as its body, with (file name, MIME type, data)
        attachments. Raises `DashboardError` saying what failed (never the password)."""
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, ", ".join(to), subject
        msg.set_content(text)
        for name, mime, data in attachments:
            main, _, sub = mime.partition("/")
            msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
        try:
            self._deliver(msg)
        except smtplib.SMTPAuthenticationError:
            raise DashboardError(f"{self.where}: the server refused the user name or "
                                 "password.") from None
        except smtplib.SMTPRecipientsRefused as e:
            raise DashboardError(f"{self.where}: the server refused the recipients "
                                 f"{', '.join(e.recipients)}.") from None
        except smtplib.SMTPResponseException as e:
            raise DashboardError(f"{self.where}: the server answered {e.smtp_code} "
                                 f"{_text(e.smtp_error)}.") from None
        except (ssl.SSLError, ssl.CertificateError) as e:
            raise DashboardError(f"{self.where}: TLS failed ({e.__class__.__name__}: "
                                 f"{getattr(e, 'reason', None) or e}); is the server's "
                                 "certificate trusted (HEATMAP_DASHBOARD_SMTP_CAFILE)?") from None
        except (OSError, smtplib.SMTPException) as e:
            reason = "timed out" if isinstance(e, socket.timeout) else str(e) or type(e).__name__
            raise DashboardError(f"{self.where}: cannot send: {reason}.") from None

    def _deliver(self, msg: EmailMessage) -> None:
        if self.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                                    context=self._tls)
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        with server:
            server.ehlo()
            if self.scheme == "smtp":
                if not server.has_extn("starttls"):
                    raise DashboardError(f"{self.where}: the server does not offer STARTTLS; "
                                         "nothing is sent unencrypted.")
                server.starttls(context=self._tls)
                server.ehlo()
            if self.user:
                server.login(self.user, self._password)
            server.send_message(msg)


def _text(error: bytes | str) -> str:
    return error.decode(errors="replace") if isinstance(error, bytes) else str(error)
