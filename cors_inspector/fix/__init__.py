"""From decisions to the CORSMiddleware change that makes them pass, proven by Starlette."""

from .observe import Backend, Folder, Observation, group_by_backend
from .service import fold, suggestions_for, suggestions_of
from .suggest import Suggestion, suggest
from .verify import Verification, verify

__all__ = [
    "Backend",
    "Folder",
    "Observation",
    "Suggestion",
    "Verification",
    "fold",
    "group_by_backend",
    "suggest",
    "suggestions_for",
    "suggestions_of",
    "verify",
]
