"""Exceptions raised by the CloudGreet client.

Every error the API answers is a :class:`CloudGreetError` (or a subclass chosen by the HTTP
status) carrying the envelope's ``code``, ``message`` (the envelope's ``error``), ``details`` and
``request_id``. Network failures are :class:`APIConnectionError` / :class:`APITimeoutError`, with
``status`` ``None``.
"""

from typing import Any, Dict, List, Mapping, Optional, Type

__all__ = [
    "CloudGreetError",
    "APIConnectionError",
    "APITimeoutError",
    "ValidationError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "PayloadTooLargeError",
    "RateLimitError",
    "InternalServerError",
    "ExternalServiceError",
    "ServiceUnavailableError",
    "error_for_status",
]


class CloudGreetError(Exception):
    """Base class of every error raised by this package.

    Attributes:
        status: the HTTP status (``None`` for network failures).
        code: the API's error code (``LEAD_NOT_FOUND``, ``VALIDATION_ERROR``, ...), if any.
        message: the human-readable message (the envelope's ``error``).
        details: the envelope's ``details`` object; for validation errors a mapping of field
            name (dotted for nested fields) to a list of messages.
        request_id: the request id (envelope ``requestId`` or the ``X-Request-Id`` header).
        headers: the response headers (lower-case names), empty for network failures.
        body: the decoded JSON body, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
        request_id: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: Dict[str, Any] = dict(details) if isinstance(details, dict) else {}
        self.request_id = request_id
        self.headers: Dict[str, str] = dict(headers or {})
        self.body = body

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.code:
            parts.append(self.code)
        head = " ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.request_id:
            text += f" (request {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class APIConnectionError(CloudGreetError):
    """The API could not be reached (connection refused, DNS failure, connection reset...)."""


class APITimeoutError(APIConnectionError):
    """The API did not answer within the client's ``timeout``."""


class ValidationError(CloudGreetError):
    """400 (malformed request) or 422 (field-level problems).

    ``details`` maps each bad field to its messages, e.g.
    ``{"phone": ["must be a valid phone number"]}``; :attr:`field_errors` is the same mapping
    with only list values kept.
    """

    @property
    def field_errors(self) -> Dict[str, List[str]]:
        return {k: list(v) for k, v in self.details.items() if isinstance(v, list)}


class AuthenticationError(CloudGreetError):
    """401: missing, invalid, expired or revoked credentials, or a wrong login."""


class PermissionDeniedError(CloudGreetError):
    """403: the caller's role may not do this, or ``business_id`` is not the caller's."""


class NotFoundError(CloudGreetError):
    """404: the resource does not exist (or belongs to another business), or an unknown route."""


class ConflictError(CloudGreetError):
    """409: a duplicate (``details.existing_id``) or an overlapping appointment
    (``details.conflicting_id``)."""


class PayloadTooLargeError(CloudGreetError):
    """413: the request body is larger than the server accepts."""


class RateLimitError(CloudGreetError):
    """429 after the client's retries were used up (or the wait was too long).

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    @property
    def retry_after(self) -> Optional[float]:
        from ._http import parse_retry_after  # local import: avoids a cycle

        return parse_retry_after(self.headers.get("retry-after"))


class InternalServerError(CloudGreetError):
    """500: an unexpected server error."""


class ExternalServiceError(CloudGreetError):
    """502: Telnyx, Retell or the mail server failed after the server's own retries."""


class ServiceUnavailableError(CloudGreetError):
    """503: an internal service is down or timed out (after the client's retries)."""


_BY_STATUS: Dict[int, Type[CloudGreetError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitError,
    500: InternalServerError,
    502: ExternalServiceError,
    503: ServiceUnavailableError,
}


def error_for_status(status: int) -> Type[CloudGreetError]:
    """The exception class used for an HTTP error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 500 <= status < 600:
        return InternalServerError
    return CloudGreetError
