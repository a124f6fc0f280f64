"""Where the server's own log lines go: uvicorn's console, in uvicorn's format.

uvicorn configures only its own loggers, so without this the access log of
`switchvox_server.access` would reach no handler.
"""

from __future__ import annotations

import copy
import logging
import logging.config
from typing import Any

PACKAGE_LOGGER = "switchvox_server"
# SQLAlchemy's pool reports its own error paths (a connection that failed to reset or close)
# here; without a handler they would reach stderr unformatted, or not at all.
POOL_LOGGER = "sqlalchemy.pool"


def package_log_config() -> dict[str, Any]:
    """A logging configuration for this package's loggers, and SQLAlchemy's pool warnings."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "switchvox": {
                "()": "uvicorn.logging.DefaultFormatter",
                "fmt": "%(levelprefix)s %(message)s",
            },
        },
        "handlers": {
            "switchvox": {
                "class": "logging.StreamHandler",
                "formatter": "switchvox",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            PACKAGE_LOGGER: {"handlers": ["switchvox"], "level": "INFO", "propagate": False},
            POOL_LOGGER: {"handlers": ["switchvox"], "level": "WARNING", "propagate": False},
        },
    }


def server_log_config() -> dict[str, Any]:
    """uvicorn's own configuration with this package's loggers added, for `serve`."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    ours = package_log_config()
    for section in ("formatters", "handlers", "loggers"):
        config.setdefault(section, {}).update(ours[section])
    return config


def ensure_package_logging() -> None:
    """Give this package's loggers a console handler, unless the deployment's logging
    configuration (uvicorn --log-config) already set them up."""
    if not logging.getLogger(PACKAGE_LOGGER).handlers:
        logging.config.dictConfig(package_log_config())
