"""From decisions to the CORSMiddleware change that makes them pass, proven by Starlette."""

from .observe import Backend, Observation, group_by_backend
from .service import suggest_backends, suggestions_for
from .suggest import Suggestion, suggest
from .verify import Verification, verify

__all__ = [
    "Backend",
    "Observation",
    "Suggestion",
    "Verification",
    "group_by_backend",
    "suggest",
    "suggest_backends",
    "suggestions_for",
    "verify",
]
