"""The API's resources: ``client.leads``, ``client.appointments``, ...

Conventions: ids are positional (``client.leads.get("lead_...")``), everything else is a keyword.
List methods take ``page``, ``limit`` (1-100) and the filters and return a :class:`Page`;
``iterate(...)`` yields every item of every page (``limit`` is then the page size) and
``list_all(...)`` returns them as a list. ``business_id`` may always be left out (the caller's
business is used); when given it must be the caller's own (else :class:`PermissionDeniedError`).
In ``update`` methods a keyword left out is not changed and ``None`` sends ``null`` (clears the
field where the API allows it). Every method takes ``request_id=`` (sent as ``X-Request-Id``).
"""

import datetime as _dt
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Type, TypeVar, Union

from ._http import NOT_GIVEN, HTTPCore, changes, compact, path_segment
from .models import (
    SMS,
    Agent,
    AgentStatus,
    AnalyticsOverview,
    ApiKey,
    Appointment,
    AuthSession,
    Business,
    Call,
    Deleted,
    Email,
    Lead,
    LeadErased,
    Model,
    Page,
    Pagination,
    Reminder,
    ScoredLeads,
    User,
    Webhook,
    WebhookDelivery,
    WebhookEventQueued,
)

M = TypeVar("M", bound=Model)
DateLike = Union[str, _dt.datetime, _dt.date]

__all__ = [
    "Auth",
    "Businesses",
    "Members",
    "ApiKeys",
    "Leads",
    "Appointments",
    "Agents",
    "Calls",
    "SMSMessages",
    "Emails",
    "Analytics",
    "Webhooks",
]


class _Resource:
    def __init__(self, core: HTTPCore) -> None:
        self._core = core

    def _data(self, method: str, path: str, *, query: Optional[Mapping[str, Any]] = None,
              body: Any = None, request_id: Optional[str] = None) -> Any:
        return self._core.request(method, path, query=query, body=body, request_id=request_id).data

    def _one(self, model: Type[M], method: str, path: str, **kwargs: Any) -> M:
        data = self._data(method, path, **kwargs)
        return model.from_dict(data if isinstance(data, dict) else {})

    def _page(self, model: Type[M], plural: str, path: str, query: Mapping[str, Any],
              request_id: Optional[str]) -> Page[M]:
        data = self._data("GET", path, query=query, request_id=request_id)
        data = data if isinstance(data, dict) else {}
        items = data.get(plural)
        pagination = data.get("pagination")
        return Page(
            items=[model.from_dict(item) for item in items if isinstance(item, dict)] if isinstance(items, list) else [],
            pagination=Pagination.from_dict(pagination if isinstance(pagination, dict) else {}),
        )


def _every(fetch: Callable[[int], Page[M]]) -> Iterator[M]:
    """Every item of every page, asking for page 1, 2, ... until the last one."""
    page_number = 1
    while True:
        page = fetch(page_number)
        yield from page.items
        if not page.items or page.pagination.page >= page.pagination.pages:
            return
        page_number += 1


class Auth(_Resource):
    """``/auth/*``. ``register`` and ``login`` return an :class:`AuthSession`; the client keeps its
    own credential: use ``client.with_token(session.token)`` for a client acting as that user."""

    def register(self, *, email: str, password: str, business_name: str, first_name: Optional[str] = None,
                 last_name: Optional[str] = None, request_id: Optional[str] = None) -> AuthSession:
        """Creates a user and a business (the user is its admin)."""
        body = compact(dict(email=email, password=password, business_name=business_name,
                            first_name=first_name, last_name=last_name))
        return self._one(AuthSession, "POST", "/auth/register", body=body, request_id=request_id)

    def login(self, *, email: str, password: str, business_id: Optional[str] = None,
              request_id: Optional[str] = None) -> AuthSession:
        """``business_id`` picks which of the user's businesses the token is for."""
        body = compact(dict(email=email, password=password, business_id=business_id))
        return self._one(AuthSession, "POST", "/auth/login", body=body, request_id=request_id)

    def logout(self, *, request_id: Optional[str] = None) -> None:
        """Logs out the client's user token (an API key cannot be logged out: revoke it)."""
        self._data("POST", "/auth/logout", request_id=request_id)

    def forgot_password(self, *, email: str, request_id: Optional[str] = None) -> None:
        """Always succeeds; if the email belongs to a user, a reset link is emailed."""
        self._data("POST", "/auth/forgot-password", body={"email": email}, request_id=request_id)

    def reset_password(self, *, token: str, password: str, request_id: Optional[str] = None) -> None:
        """An unknown, used or expired token raises :class:`ValidationError` (400 ``AUTH_INVALID_TOKEN``)."""
        self._data("POST", "/auth/reset-password", body={"token": token, "password": password}, request_id=request_id)


class Members(_Resource):
    """``/businesses/{id}/members``."""

    def list(self, business_id: str, *, page: Optional[int] = None, limit: Optional[int] = None,
             request_id: Optional[str] = None) -> Page[User]:
        return self._page(User, "members", f"/businesses/{path_segment(business_id)}/members",
                          dict(page=page, limit=limit), request_id)

    def iterate(self, business_id: str, *, limit: int = 100, request_id: Optional[str] = None) -> Iterator[User]:
        return _every(lambda p: self.list(business_id, page=p, limit=limit, request_id=request_id))

    def list_all(self, business_id: str, *, limit: int = 100, request_id: Optional[str] = None) -> List[User]:
        return list(self.iterate(business_id, limit=limit, request_id=request_id))

    def add(self, business_id: str, *, email: str, password: str, role: str, first_name: Optional[str] = None,
            last_name: Optional[str] = None, request_id: Optional[str] = None) -> User:
        """Creates a new user in the business (admin only); ``role`` is ``admin``, ``user`` or ``agent``."""
        body = compact(dict(email=email, password=password, role=role, first_name=first_name, last_name=last_name))
        return self._one(User, "POST", f"/businesses/{path_segment(business_id)}/members", body=body,
                         request_id=request_id)


class ApiKeys(_Resource):
    """``/businesses/{id}/api-keys`` (admin only)."""

    def list(self, business_id: str, *, page: Optional[int] = None, limit: Optional[int] = None,
             request_id: Optional[str] = None) -> Page[ApiKey]:
        return self._page(ApiKey, "api_keys", f"/businesses/{path_segment(business_id)}/api-keys",
                          dict(page=page, limit=limit), request_id)

    def iterate(self, business_id: str, *, limit: int = 100, request_id: Optional[str] = None) -> Iterator[ApiKey]:
        return _every(lambda p: self.list(business_id, page=p, limit=limit, request_id=request_id))

    def list_all(self, business_id: str, *, limit: int = 100, request_id: Optional[str] = None) -> List[ApiKey]:
        return list(self.iterate(business_id, limit=limit, request_id=request_id))

    def create(self, business_id: str, *, name: str, role: str, request_id: Optional[str] = None) -> ApiKey:
        """The answer's ``key`` is the secret (``cg_...``), shown only this once."""
        return self._one(ApiKey, "POST", f"/businesses/{path_segment(business_id)}/api-keys",
                         body={"name": name, "role": role}, request_id=request_id)

    def revoke(self, business_id: str, key_id: str, *, request_id: Optional[str] = None) -> ApiKey:
        """Idempotent; the key stops working within about a minute."""
        return self._one(ApiKey, "DELETE",
                         f"/businesses/{path_segment(business_id)}/api-keys/{path_segment(key_id)}",
                         request_id=request_id)


class Businesses(_Resource):
    """``/businesses``. ``members`` and ``api_keys`` are sub-resources."""

    def __init__(self, core: HTTPCore) -> None:
        super().__init__(core)
        self.members = Members(core)
        self.api_keys = ApiKeys(core)

    def list(self, *, search: Optional[str] = None, page: Optional[int] = None, limit: Optional[int] = None,
             request_id: Optional[str] = None) -> Page[Business]:
        return self._page(Business, "businesses", "/businesses", dict(search=search, page=page, limit=limit),
                          request_id)

    def iterate(self, *, search: Optional[str] = None, limit: int = 100,
                request_id: Optional[str] = None) -> Iterator[Business]:
        return _every(lambda p: self.list(search=search, page=p, limit=limit, request_id=request_id))

    def list_all(self, *, search: Optional[str] = None, limit: int = 100,
                 request_id: Optional[str] = None) -> List[Business]:
        return list(self.iterate(search=search, limit=limit, request_id=request_id))

    def create(self, *, name: str, settings: Optional[Dict[str, Any]] = None,
               request_id: Optional[str] = None) -> Business:
        """Needs a user token (not an API key); the caller becomes the new business's admin."""
        return self._one(Business, "POST", "/businesses", body=compact(dict(name=name, settings=settings)),
                         request_id=request_id)

    def get(self, business_id: str, *, request_id: Optional[str] = None) -> Business:
        return self._one(Business, "GET", f"/businesses/{path_segment(business_id)}", request_id=request_id)

    def update(self, business_id: str, *, name: Any = NOT_GIVEN, settings: Any = NOT_GIVEN,
               request_id: Optional[str] = None) -> Business:
        """``settings`` is merged into the current settings (keys not sent are kept)."""
        return self._one(Business, "PUT", f"/businesses/{path_segment(business_id)}",
                         body=changes(dict(name=name, settings=settings)), request_id=request_id)


class Leads(_Resource):
    """``/leads``."""

    def list(self, *, business_id: Optional[str] = None, status: Optional[str] = None,
             source: Optional[str] = None, search: Optional[str] = None, page: Optional[int] = None,
             limit: Optional[int] = None, request_id: Optional[str] = None) -> Page[Lead]:
        """Newest first. ``status``: new, qualified, unqualified, converted; ``source``: call, sms,
        email, web; ``search`` matches name, email or phone."""
        query = dict(business_id=business_id, status=status, source=source, search=search, page=page, limit=limit)
        return self._page(Lead, "leads", "/leads", query, request_id)

    def iterate(self, *, business_id: Optional[str] = None, status: Optional[str] = None,
                source: Optional[str] = None, search: Optional[str] = None, limit: int = 100,
                request_id: Optional[str] = None) -> Iterator[Lead]:
        return _every(lambda p: self.list(business_id=business_id, status=status, source=source, search=search,
                                          page=p, limit=limit, request_id=request_id))

    def list_all(self, *, business_id: Optional[str] = None, status: Optional[str] = None,
                 source: Optional[str] = None, search: Optional[str] = None, limit: int = 100,
                 request_id: Optional[str] = None) -> List[Lead]:
        return list(self.iterate(business_id=business_id, status=status, source=source, search=search,
                                 limit=limit, request_id=request_id))

    def create(self, *, phone: Optional[str] = None, email: Optional[str] = None, name: Optional[str] = None,
               source: Optional[str] = None, status: Optional[str] = None, notes: Optional[str] = None,
               business_id: Optional[str] = None, request_id: Optional[str] = None) -> Lead:
        """At least one of ``phone`` and ``email``. A phone or email already used by a lead of the
        business raises :class:`ConflictError` with ``details["existing_id"]``."""
        body = compact(dict(business_id=business_id, phone=phone, email=email, name=name, source=source,
                            status=status, notes=notes))
        return self._one(Lead, "POST", "/leads", body=body, request_id=request_id)

    def get(self, lead_id: str, *, request_id: Optional[str] = None) -> Lead:
        return self._one(Lead, "GET", f"/leads/{path_segment(lead_id)}", request_id=request_id)

    def update(self, lead_id: str, *, name: Any = NOT_GIVEN, phone: Any = NOT_GIVEN, email: Any = NOT_GIVEN,
               status: Any = NOT_GIVEN, source: Any = NOT_GIVEN, notes: Any = NOT_GIVEN,
               request_id: Optional[str] = None) -> Lead:
        body = changes(dict(name=name, phone=phone, email=email, status=status, source=source, notes=notes))
        return self._one(Lead, "PUT", f"/leads/{path_segment(lead_id)}", body=body, request_id=request_id)

    def delete(self, lead_id: str, *, request_id: Optional[str] = None) -> LeadErased:
        """Erases the person everywhere (admin only): the lead, and their data on calls, texts and
        emails; ``erasure.pending`` names the services that will finish their part later."""
        return self._one(LeadErased, "DELETE", f"/leads/{path_segment(lead_id)}", request_id=request_id)

    def qualify(self, lead_id: str, criteria: Optional[Mapping[str, Any]] = None, *,
                budget: Optional[str] = None, timeline: Optional[str] = None,
                decision_maker: Optional[bool] = None, urgency: Optional[str] = None,
                previous_customer: Optional[bool] = None, request_id: Optional[str] = None) -> Lead:
        """Scores the lead. Pass ``criteria`` as a dict, or the criteria as keywords: ``budget``
        (high|medium|low), ``timeline`` (immediate|this_week|this_month|this_quarter|exploring),
        ``decision_maker`` (bool), optional ``urgency`` (high|medium|low) and ``previous_customer``.
        The answer's ``qualification`` holds the score and its breakdown."""
        merged: Dict[str, Any] = dict(criteria or {})
        merged.update(compact(dict(budget=budget, timeline=timeline, decision_maker=decision_maker,
                                   urgency=urgency, previous_customer=previous_customer)))
        return self._one(Lead, "POST", f"/leads/{path_segment(lead_id)}/qualify", body={"criteria": merged},
                         request_id=request_id)


class Appointments(_Resource):
    """``/appointments``."""

    def list(self, *, business_id: Optional[str] = None, status: Optional[str] = None,
             start_date: Optional[DateLike] = None, end_date: Optional[DateLike] = None,
             page: Optional[int] = None, limit: Optional[int] = None,
             request_id: Optional[str] = None) -> Page[Appointment]:
        """By ``scheduled_date`` ascending; ``start_date`` inclusive, ``end_date`` exclusive."""
        query = dict(business_id=business_id, status=status, start_date=start_date, end_date=end_date,
                     page=page, limit=limit)
        return self._page(Appointment, "appointments", "/appointments", query, request_id)

    def iterate(self, *, business_id: Optional[str] = None, status: Optional[str] = None,
                start_date: Optional[DateLike] = None, end_date: Optional[DateLike] = None, limit: int = 100,
                request_id: Optional[str] = None) -> Iterator[Appointment]:
        return _every(lambda p: self.list(business_id=business_id, status=status, start_date=start_date,
                                          end_date=end_date, page=p, limit=limit, request_id=request_id))

    def list_all(self, *, business_id: Optional[str] = None, status: Optional[str] = None,
                 start_date: Optional[DateLike] = None, end_date: Optional[DateLike] = None, limit: int = 100,
                 request_id: Optional[str] = None) -> List[Appointment]:
        return list(self.iterate(business_id=business_id, status=status, start_date=start_date,
                                 end_date=end_date, limit=limit, request_id=request_id))

    def create(self, *, lead_id: str, scheduled_date: Union[str, _dt.datetime], duration: Optional[int] = None,
               status: Optional[str] = None, type: Optional[str] = None, notes: Optional[str] = None,
               value: Optional[float] = None, business_id: Optional[str] = None,
               request_id: Optional[str] = None) -> Appointment:
        """``scheduled_date`` in the future (a naive ``datetime`` is taken as UTC); ``duration``
        5-480 minutes (default 30). An overlap raises :class:`ConflictError` with
        ``details["conflicting_id"]``."""
        body = compact(dict(business_id=business_id, lead_id=lead_id, scheduled_date=scheduled_date,
                            duration=duration, status=status, type=type, notes=notes, value=value))
        return self._one(Appointment, "POST", "/appointments", body=body, request_id=request_id)

    def get(self, appointment_id: str, *, request_id: Optional[str] = None) -> Appointment:
        return self._one(Appointment, "GET", f"/appointments/{path_segment(appointment_id)}", request_id=request_id)

    def update(self, appointment_id: str, *, scheduled_date: Any = NOT_GIVEN, duration: Any = NOT_GIVEN,
               status: Any = NOT_GIVEN, type: Any = NOT_GIVEN, notes: Any = NOT_GIVEN, value: Any = NOT_GIVEN,
               request_id: Optional[str] = None) -> Appointment:
        body = changes(dict(scheduled_date=scheduled_date, duration=duration, status=status, type=type,
                            notes=notes, value=value))
        return self._one(Appointment, "PUT", f"/appointments/{path_segment(appointment_id)}", body=body,
                         request_id=request_id)

    def cancel(self, appointment_id: str, *, request_id: Optional[str] = None) -> Appointment:
        """``DELETE``: the appointment becomes ``cancelled`` (repeating it is harmless)."""
        return self._one(Appointment, "DELETE", f"/appointments/{path_segment(appointment_id)}",
                         request_id=request_id)

    def remind(self, appointment_id: str, *, method: str = "sms", message: Optional[str] = None,
               request_id: Optional[str] = None) -> Reminder:
        """Sends a reminder by ``sms`` or ``email`` to the lead (default text when ``message`` is None)."""
        return self._one(Reminder, "POST", f"/appointments/{path_segment(appointment_id)}/remind",
                         body=compact(dict(method=method, message=message)), request_id=request_id)


class Agents(_Resource):
    """``/agents``: creating, changing, starting, stopping and deleting need an admin."""

    def list(self, *, business_id: Optional[str] = None, status: Optional[str] = None,
             page: Optional[int] = None, limit: Optional[int] = None,
             request_id: Optional[str] = None) -> Page[Agent]:
        """``status``: active or inactive."""
        return self._page(Agent, "agents", "/agents",
                          dict(business_id=business_id, status=status, page=page, limit=limit), request_id)

    def iterate(self, *, business_id: Optional[str] = None, status: Optional[str] = None, limit: int = 100,
                request_id: Optional[str] = None) -> Iterator[Agent]:
        return _every(lambda p: self.list(business_id=business_id, status=status, page=p, limit=limit,
                                          request_id=request_id))

    def list_all(self, *, business_id: Optional[str] = None, status: Optional[str] = None, limit: int = 100,
                 request_id: Optional[str] = None) -> List[Agent]:
        return list(self.iterate(business_id=business_id, status=status, limit=limit, request_id=request_id))

    def create(self, *, name: str, voice_settings: Optional[Dict[str, Any]] = None,
               behavior_settings: Optional[Dict[str, Any]] = None, working_hours: Optional[Dict[str, Any]] = None,
               business_id: Optional[str] = None, request_id: Optional[str] = None) -> Agent:
        """Agents start inactive. ``working_hours`` has the shape of ``business_hours``."""
        body = compact(dict(business_id=business_id, name=name, voice_settings=voice_settings,
                            behavior_settings=behavior_settings, working_hours=working_hours))
        return self._one(Agent, "POST", "/agents", body=body, request_id=request_id)

    def get(self, agent_id: str, *, request_id: Optional[str] = None) -> Agent:
        return self._one(Agent, "GET", f"/agents/{path_segment(agent_id)}", request_id=request_id)

    def update(self, agent_id: str, *, name: Any = NOT_GIVEN, voice_settings: Any = NOT_GIVEN,
               behavior_settings: Any = NOT_GIVEN, working_hours: Any = NOT_GIVEN,
               request_id: Optional[str] = None) -> Agent:
        """Each settings object is replaced whole; ``working_hours=None`` means always."""
        body = changes(dict(name=name, voice_settings=voice_settings, behavior_settings=behavior_settings,
                            working_hours=working_hours))
        return self._one(Agent, "PUT", f"/agents/{path_segment(agent_id)}", body=body, request_id=request_id)

    def delete(self, agent_id: str, *, request_id: Optional[str] = None) -> Deleted:
        return self._one(Deleted, "DELETE", f"/agents/{path_segment(agent_id)}", request_id=request_id)

    def start(self, agent_id: str, *, request_id: Optional[str] = None) -> Agent:
        """Idempotent. With Retell configured a Retell failure raises :class:`ExternalServiceError`."""
        return self._one(Agent, "POST", f"/agents/{path_segment(agent_id)}/start", request_id=request_id)

    def stop(self, agent_id: str, *, request_id: Optional[str] = None) -> Agent:
        return self._one(Agent, "POST", f"/agents/{path_segment(agent_id)}/stop", request_id=request_id)

    def status(self, agent_id: str, *, request_id: Optional[str] = None) -> AgentStatus:
        return self._one(AgentStatus, "GET", f"/agents/{path_segment(agent_id)}/status", request_id=request_id)


class Calls(_Resource):
    """``/calls`` (read only)."""

    def list(self, *, business_id: Optional[str] = None, lead_id: Optional[str] = None,
             status: Optional[str] = None, direction: Optional[str] = None,
             start_date: Optional[DateLike] = None, end_date: Optional[DateLike] = None,
             page: Optional[int] = None, limit: Optional[int] = None,
             request_id: Optional[str] = None) -> Page[Call]:
        """``status``: in_progress, completed, failed, missed; ``direction``: inbound, outbound."""
        query = dict(business_id=business_id, lead_id=lead_id, status=status, direction=direction,
                     start_date=start_date, end_date=end_date, page=page, limit=limit)
        return self._page(Call, "calls", "/calls", query, request_id)

    def iterate(self, *, business_id: Optional[str] = None, lead_id: Optional[str] = None,
                status: Optional[str] = None, direction: Optional[str] = None,
                start_date: Optional[DateLike] = None, end_date: Optional[DateLike] = None, limit: int = 100,
                request_id: Optional[str] = None) -> Iterator[Call]:
        return _every(lambda p: self.list(business_id=business_id, lead_id=lead_id, status=status,
                                          direction=direction, start_date=start_date, end_date=end_date,
                                          page=p, limit=limit, request_id=request_id))

    def list_all(self, *, business_id: Optional[str] = None, lead_id: Optional[str] = None,
                 status: Optional[str] = None, direction: Optional[str] = None,
                 start_date: Optional[DateLike] = None, end_date: Optional[DateLike] = None, limit: int = 100,
                 request_id: Optional[str] = None) -> List[Call]:
        return list(self.iterate(business_id=business_id, lead_id=lead_id, status=status, direction=direction,
                                 start_date=start_date, end_date=end_date, limit=limit, request_id=request_id))

    def get(self, call_id: str, *, request_id: Optional[str] = None) -> Call:
        """One call with its transcript and analysis."""
        return self._one(Call, "GET", f"/calls/{path_segment(call_id)}", request_id=request_id)


class SMSMessages(_Resource):
    """``/sms``."""

    def list(self, *, business_id: Optional[str] = None, lead_id: Optional[str] = None,
             status: Optional[str] = None, direction: Optional[str] = None, page: Optional[int] = None,
             limit: Optional[int] = None, request_id: Optional[str] = None) -> Page[SMS]:
        """``status``: queued, sent, delivered, failed, received; ``direction``: inbound, outbound."""
        query = dict(business_id=business_id, lead_id=lead_id, status=status, direction=direction,
                     page=page, limit=limit)
        return self._page(SMS, "sms", "/sms", query, request_id)

    def iterate(self, *, business_id: Optional[str] = None, lead_id: Optional[str] = None,
                status: Optional[str] = None, direction: Optional[str] = None, limit: int = 100,
                request_id: Optional[str] = None) -> Iterator[SMS]:
        return _every(lambda p: self.list(business_id=business_id, lead_id=lead_id, status=status,
                                          direction=direction, page=p, limit=limit, request_id=request_id))

    def list_all(self, *, business_id: Optional[str] = None, lead_id: Optional[str] = None,
                 status: Optional[str] = None, direction: Optional[str] = None, limit: int = 100,
                 request_id: Optional[str] = None) -> List[SMS]:
        return list(self.iterate(business_id=business_id, lead_id=lead_id, status=status, direction=direction,
                                 limit=limit, request_id=request_id))

    def send(self, *, message: str, phone: Optional[str] = None, lead_id: Optional[str] = None,
             business_id: Optional[str] = None, request_id: Optional[str] = None) -> SMS:
        """``phone`` defaults to the lead's. A provider failure raises :class:`ExternalServiceError`
        with ``details["id"]`` (the message is kept as ``failed``)."""
        body = compact(dict(business_id=business_id, lead_id=lead_id, phone=phone, message=message))
        return self._one(SMS, "POST", "/sms", body=body, request_id=request_id)


class Emails(_Resource):
    """``/emails``."""

    def list(self, *, business_id: Optional[str] = None, lead_id: Optional[str] = None,
             status: Optional[str] = None, page: Optional[int] = None, limit: Optional[int] = None,
             request_id: Optional[str] = None) -> Page[Email]:
        """``status``: queued, sent, failed."""
        query = dict(business_id=business_id, lead_id=lead_id, status=status, page=page, limit=limit)
        return self._page(Email, "emails", "/emails", query, request_id)

    def iterate(self, *, business_id: Optional[str] = None, lead_id: Optional[str] = None,
                status: Optional[str] = None, limit: int = 100,
                request_id: Optional[str] = None) -> Iterator[Email]:
        return _every(lambda p: self.list(business_id=business_id, lead_id=lead_id, status=status, page=p,
                                          limit=limit, request_id=request_id))

    def list_all(self, *, business_id: Optional[str] = None, lead_id: Optional[str] = None,
                 status: Optional[str] = None, limit: int = 100,
                 request_id: Optional[str] = None) -> List[Email]:
        return list(self.iterate(business_id=business_id, lead_id=lead_id, status=status, limit=limit,
                                 request_id=request_id))

    def send(self, *, to: str, subject: str, content: str, lead_id: Optional[str] = None,
             business_id: Optional[str] = None, request_id: Optional[str] = None) -> Email:
        body = compact(dict(business_id=business_id, lead_id=lead_id, to=to, subject=subject, content=content))
        return self._one(Email, "POST", "/emails", body=body, request_id=request_id)


class Analytics(_Resource):
    """``/analytics`` (admin and user roles). ``start_date``/``end_date``: an ISO 8601 time, or a
    ``date`` / ``"YYYY-MM-DD"`` meaning that day in the business's time zone (end day included)."""

    def overview(self, *, business_id: Optional[str] = None, start_date: Optional[DateLike] = None,
                 end_date: Optional[DateLike] = None, request_id: Optional[str] = None) -> AnalyticsOverview:
        return self._one(AnalyticsOverview, "GET", "/analytics/overview",
                         query=dict(business_id=business_id, start_date=start_date, end_date=end_date),
                         request_id=request_id)

    def scored_leads(self, *, business_id: Optional[str] = None, start_date: Optional[DateLike] = None,
                     end_date: Optional[DateLike] = None, request_id: Optional[str] = None) -> ScoredLeads:
        return self._one(ScoredLeads, "GET", "/analytics/leads/scored",
                         query=dict(business_id=business_id, start_date=start_date, end_date=end_date),
                         request_id=request_id)


class Webhooks(_Resource):
    """``/webhooks``: the business's endpoints for CloudGreet's own events (admin only; a user or
    agent gets :class:`PermissionDeniedError`). Each event of a subscribed type is POSTed to the
    endpoint's ``url`` signed with its secret: check it with
    :func:`cloudgreet.webhooks.verify_cloudgreet`. Event types: lead.created, lead.updated,
    appointment.created, appointment.updated, appointment.cancelled, call.completed, call.missed,
    sms.received, sms.status. Another business's endpoint is a :class:`NotFoundError`."""

    def list(self, *, page: Optional[int] = None, limit: Optional[int] = None,
             request_id: Optional[str] = None) -> Page[Webhook]:
        """Newest first; never the secrets."""
        return self._page(Webhook, "webhooks", "/webhooks", dict(page=page, limit=limit), request_id)

    def iterate(self, *, limit: int = 100, request_id: Optional[str] = None) -> Iterator[Webhook]:
        return _every(lambda p: self.list(page=p, limit=limit, request_id=request_id))

    def list_all(self, *, limit: int = 100, request_id: Optional[str] = None) -> List[Webhook]:
        return list(self.iterate(limit=limit, request_id=request_id))

    def create(self, *, url: str, events: Iterable[str], request_id: Optional[str] = None) -> Webhook:
        """Registers an endpoint for ``events`` (a non-empty list of event types). The answer's
        ``secret`` (``whsec_...``) signs every delivery and is shown only this once. Outside
        development ``url`` must be https and must not resolve to a private or loopback address
        (else :class:`ValidationError` on ``url``)."""
        if isinstance(events, str):
            raise TypeError("events must be a list of event types, not a string")
        return self._one(Webhook, "POST", "/webhooks", body={"url": url, "events": list(events)},
                         request_id=request_id)

    def delete(self, webhook_id: str, *, request_id: Optional[str] = None) -> Deleted:
        """Drops the endpoint, its deliveries not made yet and its delivery log."""
        return self._one(Deleted, "DELETE", f"/webhooks/{path_segment(webhook_id)}", request_id=request_id)

    def test(self, webhook_id: str, *, request_id: Optional[str] = None) -> WebhookEventQueued:
        """Queues a ``webhook.test`` event for this endpoint alone (delivered like any other)."""
        return self._one(WebhookEventQueued, "POST", f"/webhooks/{path_segment(webhook_id)}/test",
                         request_id=request_id)

    def deliveries(self, webhook_id: str, *, page: Optional[int] = None, limit: Optional[int] = None,
                   request_id: Optional[str] = None) -> Page[WebhookDelivery]:
        """The endpoint's delivery log: every attempt, newest first, with the answer's
        ``status_code`` (``None`` when there was no answer) and ``duration_ms``."""
        return self._page(WebhookDelivery, "deliveries", f"/webhooks/{path_segment(webhook_id)}/deliveries",
                          dict(page=page, limit=limit), request_id)

    def iterate_deliveries(self, webhook_id: str, *, limit: int = 100,
                           request_id: Optional[str] = None) -> Iterator[WebhookDelivery]:
        return _every(lambda p: self.deliveries(webhook_id, page=p, limit=limit, request_id=request_id))

    def redeliver(self, webhook_id: str, event_id: str, *, request_id: Optional[str] = None) -> WebhookEventQueued:
        """Sends one event (``evt_...``, as the delivery log names it) to this endpoint again,
        under the same event id, whatever became of it before."""
        return self._one(WebhookEventQueued, "POST",
                         f"/webhooks/{path_segment(webhook_id)}/deliveries/{path_segment(event_id)}/redeliver",
                         request_id=request_id)
