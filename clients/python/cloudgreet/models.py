"""Typed views of the API's JSON.

Every model is a dataclass built with ``Model.from_dict``: known fields are converted (ISO 8601
times to timezone-aware ``datetime``, nested objects to models), and ``raw`` keeps the whole JSON
object as received, so a field the server adds later is available as ``obj.raw["new_field"]``
before this package knows it. Missing fields are ``None`` (or empty), never an error.
"""

import datetime as _dt
import re
import sys
import typing
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Generic, Iterator, List, Optional, Type, TypeVar, Union

__all__ = [
    "Model",
    "Pagination",
    "Page",
    "User",
    "Business",
    "AuthSession",
    "ApiKey",
    "Lead",
    "Qualification",
    "QualificationFactor",
    "Appointment",
    "Reminder",
    "Agent",
    "AgentStatus",
    "Call",
    "SMS",
    "Email",
    "Deleted",
    "Webhook",
    "WebhookDelivery",
    "WebhookEventQueued",
    "WebhookEvent",
    "Erasure",
    "LeadErased",
    "Health",
    "HealthCheck",
    "AnalyticsOverview",
    "ScoredLeads",
    "parse_datetime",
]

M = TypeVar("M", bound="Model")
T = TypeVar("T")

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_datetime(value: Any) -> Optional[_dt.datetime]:
    """An ISO 8601 time (``2024-01-20T14:00:00Z``, fractions and offsets allowed) as an aware
    ``datetime``; ``None`` for anything else. A time without an offset is taken as UTC."""
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    if not isinstance(value, str):
        return None
    match = _ISO.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz: _dt.tzinfo = _dt.timezone.utc
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        tz = _dt.timezone(sign * _dt.timedelta(hours=hours, minutes=minutes))
    try:
        return _dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tzinfo=tz
        )
    except ValueError:
        return None


def _raw() -> Any:
    return field(default_factory=dict, repr=False, compare=False)


_HINTS: Dict[type, Dict[str, Any]] = {}


def _hints(cls: type) -> Dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
        _HINTS[cls] = hints
    return hints


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = getattr(tp, "__origin__", None)
    if origin is Union:
        options = [a for a in tp.__args__ if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin in (list, List):
        (item,) = tp.__args__ or (Any,)
        return [_convert(item, v) for v in value] if isinstance(value, list) else []
    if origin in (dict, Dict):
        return dict(value) if isinstance(value, dict) else {}
    if tp is _dt.datetime:
        return parse_datetime(value)
    if isinstance(tp, type) and issubclass(tp, Model):
        return tp.from_dict(value) if isinstance(value, dict) else None
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


class Model:
    """Base class of the response models (each one a dataclass with a ``raw`` dict)."""

    raw: Dict[str, Any]

    @classmethod
    def from_dict(cls: Type[M], data: Dict[str, Any]) -> M:
        """Builds the model from the API's JSON object; unknown keys stay in ``raw``."""
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__}.from_dict expects a JSON object, got {type(data).__name__}")
        hints = _hints(cls)
        values: Dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name != "raw" and f.name in data:
                values[f.name] = _convert(hints[f.name], data[f.name])
        return cls(raw=dict(data), **values)  # type: ignore[call-arg]

    def to_dict(self) -> Dict[str, Any]:
        """The JSON object this model was built from (a copy of ``raw``)."""
        return dict(self.raw)


@dataclass
class Pagination(Model):
    page: int = 1
    limit: int = 20
    total: int = 0
    pages: int = 0
    raw: Dict[str, Any] = _raw()


@dataclass
class Page(Generic[T]):
    """One page of a list: ``items`` and ``pagination`` (``page``, ``limit``, ``total``, ``pages``).

    Iterating a page iterates its items; use ``iterate()``/``list_all()`` on the resource for
    every page."""

    items: List[T]
    pagination: Pagination

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def has_more(self) -> bool:
        """Whether a later page exists."""
        return self.pagination.page < self.pagination.pages


@dataclass
class User(Model):
    id: str = ""
    email: Optional[str] = None
    first_name: Optional[str] = None
    last_name: Optional[str] = None
    business_id: Optional[str] = None
    role: Optional[str] = None
    created_at: Optional[_dt.datetime] = None
    joined_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Business(Model):
    id: str = ""
    name: Optional[str] = None
    settings: Dict[str, Any] = field(default_factory=dict)
    created_at: Optional[_dt.datetime] = None
    updated_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class AuthSession(Model):
    """What ``auth.register`` and ``auth.login`` answer. ``business`` is set by register only."""

    token: str = ""
    expires_in: Optional[int] = None
    user: Optional[User] = None
    business: Optional[Business] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:  # the token is a credential: keep it out of logs
        return f"AuthSession(user={self.user!r}, business={self.business!r}, expires_in={self.expires_in!r})"


@dataclass
class ApiKey(Model):
    """An API key. ``key`` (the secret, ``cg_...``) is only set on the answer to ``create``."""

    id: str = ""
    business_id: Optional[str] = None
    name: Optional[str] = None
    role: Optional[str] = None
    prefix: Optional[str] = None
    key: Optional[str] = field(default=None, repr=False)
    revoked_at: Optional[_dt.datetime] = None
    created_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass
class QualificationFactor(Model):
    factor: str = ""
    points: int = 0
    max_points: int = 0
    raw: Dict[str, Any] = _raw()


@dataclass
class Qualification(Model):
    score: int = 0
    breakdown: List[QualificationFactor] = field(default_factory=list)
    raw: Dict[str, Any] = _raw()


@dataclass
class Lead(Model):
    id: str = ""
    business_id: Optional[str] = None
    name: Optional[str] = None
    phone: Optional[str] = None
    email: Optional[str] = None
    status: Optional[str] = None
    source: Optional[str] = None
    notes: Optional[str] = None
    qualification_score: Optional[int] = None
    #: Only on the answer to ``leads.qualify``.
    qualification: Optional[Qualification] = None
    created_at: Optional[_dt.datetime] = None
    updated_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Appointment(Model):
    id: str = ""
    business_id: Optional[str] = None
    lead_id: Optional[str] = None
    scheduled_date: Optional[_dt.datetime] = None
    #: Minutes.
    duration: Optional[int] = None
    status: Optional[str] = None
    type: Optional[str] = None
    notes: Optional[str] = None
    #: Money in the business's currency units (at most two decimals).
    value: Optional[float] = None
    created_at: Optional[_dt.datetime] = None
    updated_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Reminder(Model):
    appointment_id: str = ""
    method: Optional[str] = None
    status: Optional[str] = None
    message_id: Optional[str] = None
    sent_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Agent(Model):
    id: str = ""
    business_id: Optional[str] = None
    name: Optional[str] = None
    voice_settings: Dict[str, Any] = field(default_factory=dict)
    behavior_settings: Dict[str, Any] = field(default_factory=dict)
    working_hours: Optional[Dict[str, Any]] = None
    is_active: bool = False
    status: Optional[str] = None
    started_at: Optional[_dt.datetime] = None
    retell_agent_id: Optional[str] = None
    created_at: Optional[_dt.datetime] = None
    updated_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class AgentStatus(Model):
    id: str = ""
    status: Optional[str] = None
    active_calls: int = 0
    total_calls_today: int = 0
    #: Milliseconds since the agent was started (0 when stopped).
    uptime: int = 0
    raw: Dict[str, Any] = _raw()


@dataclass
class Call(Model):
    id: str = ""
    business_id: Optional[str] = None
    agent_id: Optional[str] = None
    lead_id: Optional[str] = None
    phone: Optional[str] = None
    direction: Optional[str] = None
    #: Seconds.
    duration: Optional[int] = None
    status: Optional[str] = None
    recording_url: Optional[str] = None
    transcript: Optional[str] = None
    summary: Optional[str] = None
    outcome: Optional[str] = None
    # The following are only on ``calls.get``.
    sentiment: Optional[str] = None
    analysis: Optional[Dict[str, Any]] = None
    answered_by: Optional[str] = None
    hangup_cause: Optional[str] = None
    appointment_id: Optional[str] = None
    booking_error: Optional[str] = None
    error: Optional[str] = None
    created_at: Optional[_dt.datetime] = None
    ended_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class SMS(Model):
    id: str = ""
    business_id: Optional[str] = None
    lead_id: Optional[str] = None
    phone: Optional[str] = None
    message: Optional[str] = None
    direction: Optional[str] = None
    status: Optional[str] = None
    provider_message_id: Optional[str] = None
    error: Optional[str] = None
    sandbox: Optional[bool] = None
    created_at: Optional[_dt.datetime] = None
    updated_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Email(Model):
    id: str = ""
    business_id: Optional[str] = None
    lead_id: Optional[str] = None
    to: Optional[str] = None
    subject: Optional[str] = None
    content: Optional[str] = None
    status: Optional[str] = None
    provider_message_id: Optional[str] = None
    error: Optional[str] = None
    sandbox: Optional[bool] = None
    created_at: Optional[_dt.datetime] = None
    updated_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Deleted(Model):
    id: str = ""
    deleted: bool = False
    raw: Dict[str, Any] = _raw()


@dataclass
class Webhook(Model):
    """A webhook endpoint of the business. ``secret`` (``whsec_...``, it signs every delivery:
    :func:`cloudgreet.webhooks.verify_cloudgreet`) is only set on the answer to ``webhooks.create``."""

    id: str = ""
    business_id: Optional[str] = None
    url: Optional[str] = None
    #: Event types: lead.created, lead.updated, appointment.created, appointment.updated,
    #: appointment.cancelled, call.completed, call.missed, sms.received, sms.status.
    events: List[str] = field(default_factory=list)
    #: ``active``, or ``disabled`` after every delivery failed for 3 days (register it again to resume).
    status: Optional[str] = None
    #: Since when every delivery has failed; ``None`` after any success.
    failing_since: Optional[_dt.datetime] = None
    secret: Optional[str] = field(default=None, repr=False)
    created_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass
class WebhookDelivery(Model):
    """One attempt to deliver an event to an endpoint (``webhooks.deliveries``)."""

    id: str = ""
    event_id: Optional[str] = None
    event_type: Optional[str] = None
    attempt: int = 0
    #: The endpoint's answer; ``None`` when there was none (refused, timed out, address not allowed).
    status_code: Optional[int] = None
    duration_ms: Optional[int] = None
    error: Optional[str] = None
    created_at: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()

    @property
    def succeeded(self) -> bool:
        """Whether the endpoint answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class WebhookEventQueued(Model):
    """What ``webhooks.test`` and ``webhooks.redeliver`` answer (202): the event queued for delivery."""

    event_id: str = ""
    queued: bool = False
    raw: Dict[str, Any] = _raw()


@dataclass
class WebhookEvent(Model):
    """The body of a delivery CloudGreet sends to an endpoint (``WebhookEvent.from_dict(json.loads(body))``
    once :func:`cloudgreet.webhooks.verify_cloudgreet` accepted it). A retry or redelivery carries
    the same ``id``: drop ids already seen. ``data`` is the resource after the change, as the API
    shows it; ``type`` is one of the event types, or ``webhook.test``."""

    id: str = ""
    type: Optional[str] = None
    created_at: Optional[_dt.datetime] = None
    data: Dict[str, Any] = field(default_factory=dict)
    raw: Dict[str, Any] = _raw()


@dataclass
class Erasure(Model):
    """How far erasing a person got: ``status`` is ``pending`` while a service (listed in
    ``pending``) has not erased its part yet; the server finishes it when that service is back."""
    id: str = ""
    status: Optional[str] = None
    pending: List[str] = field(default_factory=list)
    raw: Dict[str, Any] = _raw()


@dataclass
class LeadErased(Model):
    id: str = ""
    deleted: bool = False
    erasure: Optional[Erasure] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class HealthCheck(Model):
    name: str = ""
    status: Optional[str] = None
    message: Optional[str] = None
    #: Milliseconds.
    duration: Optional[int] = None
    timestamp: Optional[_dt.datetime] = None
    raw: Dict[str, Any] = _raw()


@dataclass
class Health(Model):
    #: ``healthy``, ``degraded`` or ``unhealthy``.
    overall: Optional[str] = None
    checks: List[HealthCheck] = field(default_factory=list)
    timestamp: Optional[_dt.datetime] = None
    version: Optional[str] = None
    #: Milliseconds.
    uptime: Optional[int] = None
    environment: Optional[str] = None
    raw: Dict[str, Any] = _raw()

    @property
    def healthy(self) -> bool:
        return self.overall == "healthy"


@dataclass
class AnalyticsOverview(Model):
    """``leads``, ``appointments``, ``calls``, ``revenue``, ``messages`` and ``period`` as the
    API's objects (e.g. ``overview.leads["total"]``, ``overview.revenue["growth_rate"]``)."""

    leads: Dict[str, Any] = field(default_factory=dict)
    appointments: Dict[str, Any] = field(default_factory=dict)
    calls: Dict[str, Any] = field(default_factory=dict)
    revenue: Dict[str, Any] = field(default_factory=dict)
    messages: Dict[str, Any] = field(default_factory=dict)
    period: Dict[str, Any] = field(default_factory=dict)
    raw: Dict[str, Any] = _raw()


@dataclass
class ScoredLeads(Model):
    total_leads: int = 0
    total_scored: int = 0
    average_score: Optional[float] = None
    #: ``{"0-19": n, "20-39": n, "40-59": n, "60-79": n, "80-100": n}``
    distribution: Dict[str, Any] = field(default_factory=dict)
    #: source -> ``{"count": n, "average_score": x or None}``
    by_source: Dict[str, Any] = field(default_factory=dict)
    #: status -> ``{"count": n, "average_score": x or None}``
    by_status: Dict[str, Any] = field(default_factory=dict)
    conversion_rate: Optional[float] = None
    period: Dict[str, Any] = field(default_factory=dict)
    raw: Dict[str, Any] = _raw()
