"""CloudGreet API client for Python.

    from cloudgreet import CloudGreetClient

    client = CloudGreetClient(api_key="cg_...", base_url="https://cloudgreet.example.com/api")
    leads = client.leads.list(business_id="business_...")
"""

from . import webhooks
from ._http import DEFAULT_BASE_URL, NOT_GIVEN, RawResponse
from ._version import __version__
from .client import CloudGreetClient
from .errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    CloudGreetError,
    ConflictError,
    ExternalServiceError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    ValidationError,
)
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
    Erasure,
    Health,
    HealthCheck,
    Lead,
    LeadErased,
    Page,
    Pagination,
    Qualification,
    QualificationFactor,
    Reminder,
    ScoredLeads,
    User,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventQueued,
)

__all__ = [
    "__version__",
    "CloudGreetClient",
    "DEFAULT_BASE_URL",
    "NOT_GIVEN",
    "RawResponse",
    "webhooks",
    # errors
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
    # models
    "Page",
    "Pagination",
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
]
