"""Verifying webhook signatures exactly as the server does: the webhooks CloudGreet sends to the
business's own endpoints (``client.webhooks``), and the provider webhooks the server receives.

* CloudGreet: ``CloudGreet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key=the endpoint's
  secret, msg="<t>." + raw body)>`` (several ``v1=`` values may be sent: one matching is enough);
  a ``t`` more than ``tolerance`` (300) seconds away from now is refused; compared in constant
  time. Standard library only. ``CloudGreet-Event-Id`` names the event: a retry or a redelivery
  carries the same id, so drop ids already handled.

* Telnyx: ``telnyx-signature-ed25519`` is the base64 Ed25519 signature of
  ``"<telnyx-timestamp>|<raw body>"``, checked with the account's public key (base64 of the raw
  32 bytes); a timestamp more than ``tolerance`` (300) seconds away from now is refused. Needs the
  optional ``cryptography`` package: ``pip install "cloudgreet-api[webhooks]"``.
* Retell: ``x-retell-signature: v=<unix ms>,d=<hex HMAC-SHA256(key=API key, msg=raw body +
  "<unix ms>")>``; a timestamp more than five minutes away is refused; the digest is compared in
  constant time. Standard library only.

Always pass the raw request body bytes, exactly as received: re-serialised JSON does not verify.
The ``sign_*`` helpers make signed requests for tests.
"""

import base64
import binascii
import hashlib
import hmac
import re
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

__all__ = [
    "verify_cloudgreet",
    "verify_cloudgreet_headers",
    "sign_cloudgreet",
    "CLOUDGREET_SIGNATURE_HEADER",
    "CLOUDGREET_EVENT_ID_HEADER",
    "CLOUDGREET_EVENT_TYPE_HEADER",
    "verify_telnyx",
    "verify_retell",
    "verify_telnyx_headers",
    "verify_retell_headers",
    "sign_telnyx",
    "sign_retell",
    "TELNYX_SIGNATURE_HEADER",
    "TELNYX_TIMESTAMP_HEADER",
    "RETELL_SIGNATURE_HEADER",
]

CLOUDGREET_SIGNATURE_HEADER = "CloudGreet-Signature"
CLOUDGREET_EVENT_ID_HEADER = "CloudGreet-Event-Id"
CLOUDGREET_EVENT_TYPE_HEADER = "CloudGreet-Event-Type"
TELNYX_SIGNATURE_HEADER = "telnyx-signature-ed25519"
TELNYX_TIMESTAMP_HEADER = "telnyx-timestamp"
RETELL_SIGNATURE_HEADER = "x-retell-signature"

Body = Union[bytes, bytearray, memoryview, str]

_INSTALL_HINT = (
    "Telnyx webhook verification needs the 'cryptography' package: "
    "pip install \"cloudgreet-api[webhooks]\""
)


def _crypto() -> Any:
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL_HINT) from exc
    return ed25519, InvalidSignature


def _bytes(body: Body) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


def _b64(text: str) -> Optional[bytes]:
    """Strict base64 (as Foundation's ``Data(base64Encoded:)``): no whitespace, padding required."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None


_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_HEX = re.compile(r"^[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?$")


def _number(text: str) -> Optional[float]:
    """A timestamp read as Swift's ``Double(String)`` reads it (no surrounding whitespace);
    ``None`` when it is not a finite number (such timestamps are refused either way)."""
    try:
        if _DECIMAL.match(text):
            value = float(text)
        elif _HEX.match(text):
            sign = -1.0 if text.startswith("-") else 1.0
            value = sign * float.fromhex(text.lstrip("+-"))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def _public_key(public_key: str) -> Any:
    ed25519, _ = _crypto()
    raw = _b64(public_key) if isinstance(public_key, str) else None
    if raw is None or len(raw) != 32:
        raise ValueError("public_key must be the base64 of a 32-byte Ed25519 public key")
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise ValueError("public_key is not a valid Ed25519 public key") from exc


def verify_telnyx(
    raw_body: Body,
    signature: Optional[str],
    timestamp: Optional[str],
    public_key: str,
    tolerance: float = 300,
    now: Optional[float] = None,
) -> bool:
    """Whether a Telnyx webhook is authentic: ``signature`` (header ``telnyx-signature-ed25519``)
    over ``"<timestamp>|<raw_body>"``, ``timestamp`` (header ``telnyx-timestamp``, Unix seconds)
    within ``tolerance`` seconds of ``now`` (default: the current time).

    Returns ``False`` for a missing, malformed, stale or wrong signature or a changed body. Raises
    ``ValueError`` when ``public_key`` is not the base64 of a 32-byte Ed25519 key (a configuration
    error), and ``ImportError`` when ``cryptography`` is not installed."""
    key = _public_key(public_key)
    _, invalid_signature = _crypto()
    if not isinstance(signature, str) or not isinstance(timestamp, str):
        return False
    seconds = _number(timestamp)
    signature_bytes = _b64(signature)
    if seconds is None or signature_bytes is None:
        return False
    current = time.time() if now is None else float(now)
    if not abs(current - seconds) <= tolerance:
        return False
    message = timestamp.encode("utf-8") + b"|" + _bytes(raw_body)
    try:
        key.verify(signature_bytes, message)
    except (invalid_signature, ValueError):
        return False
    return True


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    getter = getattr(headers, "get", None)
    value = getter(name) if getter else None  # case-insensitive mappings (email.message, requests)
    if value is None:
        wanted = name.lower()
        for key, candidate in headers.items():
            if key.lower() == wanted:
                return candidate
    return value


def verify_telnyx_headers(raw_body: Body, headers: Mapping[str, str], public_key: str, tolerance: float = 300,
                          now: Optional[float] = None) -> bool:
    """:func:`verify_telnyx` reading ``telnyx-signature-ed25519`` and ``telnyx-timestamp`` from
    ``headers`` (any case)."""
    return verify_telnyx(raw_body, _header(headers, TELNYX_SIGNATURE_HEADER),
                         _header(headers, TELNYX_TIMESTAMP_HEADER), public_key, tolerance, now)


def _retell_parts(signature: str):  # type: ignore[no-untyped-def]
    timestamp = digest = None
    for part in signature.split(","):
        if not part:
            continue
        pair = part.split("=", 1)
        if len(pair) != 2 or not pair[0] or not pair[1]:
            continue
        name = pair[0].strip(" \t")
        if name == "v":
            timestamp = pair[1]
        elif name == "d":
            digest = pair[1].lower()
    return timestamp, digest


def verify_retell(
    raw_body: Body,
    signature: Optional[str],
    api_key: str,
    tolerance_ms: float = 300_000,
    now_ms: Optional[float] = None,
) -> bool:
    """Whether a Retell webhook is authentic: ``signature`` is the ``x-retell-signature`` header,
    ``v=<unix ms>,d=<hex HMAC-SHA256>`` keyed with ``api_key`` over the raw body followed by the
    timestamp text; the timestamp must be within ``tolerance_ms`` of ``now_ms`` (default: now).
    The digest is compared in constant time. ``False`` for anything missing, malformed, stale or
    not matching."""
    if not isinstance(signature, str) or not api_key:
        return False
    timestamp, digest = _retell_parts(signature)
    if timestamp is None or digest is None:
        return False
    milliseconds = _number(timestamp)
    if milliseconds is None or len(digest) != 64 or not re.fullmatch(r"[0-9a-f]{64}", digest):
        return False
    current = time.time() * 1000 if now_ms is None else float(now_ms)
    if not abs(current - milliseconds) <= tolerance_ms:
        return False
    expected = hmac.new(api_key.encode("utf-8"), _bytes(raw_body) + timestamp.encode("utf-8"), hashlib.sha256)
    return hmac.compare_digest(expected.digest(), bytes.fromhex(digest))


def verify_retell_headers(raw_body: Body, headers: Mapping[str, str], api_key: str, tolerance_ms: float = 300_000,
                          now_ms: Optional[float] = None) -> bool:
    """:func:`verify_retell` reading ``x-retell-signature`` from ``headers`` (any case)."""
    return verify_retell(raw_body, _header(headers, RETELL_SIGNATURE_HEADER), api_key, tolerance_ms, now_ms)


def sign_retell(raw_body: Body, api_key: str, timestamp_ms: Optional[int] = None) -> str:
    """The ``x-retell-signature`` value Retell would send for ``raw_body`` (for tests)."""
    stamp = str(int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms))
    digest = hmac.new(api_key.encode("utf-8"), _bytes(raw_body) + stamp.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"v={stamp},d={digest}"


def sign_telnyx(raw_body: Body, private_key: str, timestamp: Optional[int] = None) -> Dict[str, str]:
    """The ``telnyx-signature-ed25519`` and ``telnyx-timestamp`` headers Telnyx would send for
    ``raw_body``, signed with ``private_key`` (base64 of the raw 32-byte Ed25519 seed; for tests)."""
    ed25519, _ = _crypto()
    seed = _b64(private_key)
    if seed is None or len(seed) != 32:
        raise ValueError("private_key must be the base64 of a 32-byte Ed25519 private key")
    stamp = str(int(time.time()) if timestamp is None else int(timestamp))
    signature = ed25519.Ed25519PrivateKey.from_private_bytes(seed).sign(stamp.encode("utf-8") + b"|" + _bytes(raw_body))
    return {TELNYX_SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"), TELNYX_TIMESTAMP_HEADER: stamp}


# Swift's `CharacterSet.whitespaces`: tab and the Unicode space separators (what the server trims).
_SWIFT_WHITESPACE = "\t \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"


def _swift_split(text: str, separator: str, max_splits: int = -1) -> List[str]:
    """Swift's ``split(separator:maxSplits:)``: empty pieces are left out (and do not count)."""
    pieces: List[str] = []
    start = 0
    index = 0
    while index < len(text):
        if text[index] == separator and (max_splits < 0 or len(pieces) < max_splits):
            if index > start:
                pieces.append(text[start:index])
            start = index + 1
        index += 1
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _cloudgreet_parts(signature: str) -> Tuple[Optional[str], List[str]]:
    """``t`` (the last one wins) and every ``v1`` value, read as the server reads them."""
    timestamp: Optional[str] = None
    digests: List[str] = []
    for part in _swift_split(signature, ","):
        pair = [piece.strip(_SWIFT_WHITESPACE) for piece in _swift_split(part, "=", 1)]
        if len(pair) != 2:
            continue
        if pair[0] == "t":
            timestamp = pair[1]
        elif pair[0] == "v1":
            digests.append(pair[1])
    return timestamp, digests


def _cloudgreet_digest(raw_body: Body, secret: str, timestamp: str) -> str:
    message = timestamp.encode("utf-8") + b"." + _bytes(raw_body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_cloudgreet(
    raw_body: Body,
    signature: Optional[str],
    secret: str,
    *,
    tolerance: float = 300,
    now: Optional[float] = None,
) -> bool:
    """Whether a webhook CloudGreet sent to your endpoint is authentic: ``signature`` is the
    ``CloudGreet-Signature`` header, ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` keyed with the
    endpoint's ``secret`` (``whsec_...``, from ``client.webhooks.create``) over ``"<t>."`` followed
    by the raw body; ``t`` must be within ``tolerance`` seconds of ``now`` (default: the current
    time). Any one of several ``v1`` values may match; each is compared in constant time.
    ``False`` for anything missing, malformed, stale or not matching (and for an empty secret)."""
    if not isinstance(signature, str) or not isinstance(secret, str) or not secret:
        return False
    timestamp, digests = _cloudgreet_parts(signature)
    if timestamp is None or not digests:
        return False
    seconds = _number(timestamp)
    if seconds is None:
        return False
    current = time.time() if now is None else float(now)
    if not abs(current - seconds) <= tolerance:
        return False
    expected = _cloudgreet_digest(raw_body, secret, timestamp).encode("ascii")
    matched = False
    for digest in digests:  # every value is compared, so the time taken does not say which matched
        matched |= hmac.compare_digest(expected, digest.encode("utf-8"))
    return matched


def verify_cloudgreet_headers(raw_body: Body, headers: Mapping[str, str], secret: str, *, tolerance: float = 300,
                              now: Optional[float] = None) -> bool:
    """:func:`verify_cloudgreet` reading ``CloudGreet-Signature`` from ``headers`` (any case)."""
    return verify_cloudgreet(raw_body, _header(headers, CLOUDGREET_SIGNATURE_HEADER), secret,
                             tolerance=tolerance, now=now)


def sign_cloudgreet(raw_body: Body, secret: str, timestamp: Optional[int] = None) -> str:
    """The ``CloudGreet-Signature`` value CloudGreet sends with ``raw_body`` for an endpoint with
    this ``secret``, at ``timestamp`` (Unix seconds, default now; for tests)."""
    stamp = str(int(time.time()) if timestamp is None else int(timestamp))
    return f"t={stamp},v1={_cloudgreet_digest(raw_body, secret, stamp)}"
