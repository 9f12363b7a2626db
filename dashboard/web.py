"""The dashboard's server: the Streamlit pages plus the HTTP API (/api, see `dashboard.api`).

    streamlit run dashboard/web.py

The service starts with the server, not with the first page: enabled cameras run and count
whether or not anyone has a page open, and stop cleanly (writing what they counted and
their heat) when the server shuts down.
"""
from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import streamlit as st
from starlette.concurrency import run_in_threadpool

from dashboard.api import ROUTES
from dashboard.service import close_shared_service, shared_service
from dashboard.sources import SecretFilter


def setup_logging() -> None:
    """The dashboard's log lines on stderr, with credentials masked in every one."""
    logger = logging.getLogger("dashboard")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(SecretFilter())
        logger.addHandler(handler)
        logger.setLevel(os.environ.get("HEATMAP_DASHBOARD_LOG", "INFO").upper())
        logger.propagate = False


@asynccontextmanager
async def lifespan(app: st.App) -> AsyncIterator[None]:
    setup_logging()
    await run_in_threadpool(shared_service)   # loads cameras, starts the enabled ones
    try:
        yield
    finally:
        await run_in_threadpool(close_shared_service)


app = st.App(str(Path(__file__).with_name("app.py")), routes=ROUTES, lifespan=lifespan)
