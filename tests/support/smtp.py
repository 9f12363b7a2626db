"""A real SMTP server on loopback for the tests (aiosmtpd): STARTTLS with a certificate
made here, a login required, every message kept; `refuse` makes it answer 451 to mail."""
from __future__ import annotations

import datetime as dt
import email
import ipaddress
import ssl
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from support.rtsp_server import free_port

USER, PASSWORD = "reports", "mail-pass-123"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    crt, pem = folder / "smtp.crt", folder / "smtp.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


class _Box:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """`with SmtpServer(tmp_path) as smtp:` smtp.url, smtp.cafile, smtp.messages."""

    def __init__(self, folder: Path) -> None:
        self.cafile, key = self_signed(folder)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cafile, key)
        self.port = free_port()
        self.box = _Box()
        self._controller = Controller(self.box, hostname="127.0.0.1", port=self.port,
                                      tls_context=tls, require_starttls=True,
                                      authenticator=_login, auth_required=True)
        self.url = f"smtp://{USER}:{PASSWORD}@127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Message]:
        return self.box.messages

    def __enter__(self) -> "SmtpServer":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()
