"""What answers an exception that no handler turned into a fault: the one place where the
database's failures become fault 10007 and everything else becomes fault 10008, each logged
once. Log lines carry the cause, never a credential: the database's messages are reduced to
their first line with the password taken out (store.failures), and request headers and
bodies are never part of an exception message of this server.
"""

from __future__ import annotations

import logging

from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.store.database import Database, failure_of

logger = logging.getLogger(__name__)


def fault_for(error: Exception, database: Database | None) -> ApiError:
    """The fault that answers `error`, which has been logged: the cause of a database
    failure on one line, the traceback of anything else."""
    failure = failure_of(database, error) if database is not None else None
    if failure is not None:
        logger.warning("database unavailable: %s", failure)
        return ApiError(FAULTS.DATABASE_UNAVAILABLE)
    logger.error("the request failed: %s", type(error).__name__, exc_info=error)
    return ApiError(FAULTS.INTERNAL_ERROR)
