"""Log set-up for every CZT process: one line per event, request id included where there is one."""

from __future__ import annotations

import logging

from commons.request_id import current_request_id


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


def configure_logging(service: str, level: int = logging.INFO) -> None:
    """Send the ``czt`` loggers to stderr once per process, tagged with ``service``."""
    logger = logging.getLogger("czt")
    if any(getattr(handler, "czt_service", None) for handler in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.czt_service = service  # type: ignore[attr-defined]
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)-5s {service} %(name)s [%(request_id)s] %(message)s")
    )
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
