"""The dashboard's server: the Streamlit page plus a live MJPEG video endpoint per source.

    streamlit run dashboard/web.py

The browser plays /video/<source key>.mjpg itself, so frames reach the page without a
script rerun each; every viewer of a source gets the same JPEG bytes, encoded once a frame.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import streamlit as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from dashboard.worker import Pipeline, shared_registry

POLL_S = 0.01          # how often a viewer's stream looks for a new frame
BOUNDARY = b"frame"


async def mjpeg_parts(p: Pipeline, request: Request | None = None) -> AsyncIterator[bytes]:
    """Each new overlay frame of `p` as one part of a multipart/x-mixed-replace stream."""
    last = None
    while request is None or not await request.is_disconnected():
        plot = p.snapshot().plot
        if plot is not None and plot is not last:
            last = plot
            # Encoding takes milliseconds: off the event loop, which serves every page.
            jpeg = await asyncio.to_thread(p.jpeg)
            if jpeg is not None:
                yield (b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
                       + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
        await asyncio.sleep(POLL_S)


async def video(request: Request) -> Response:
    p = shared_registry().by_key(request.path_params["key"])
    if p is None:
        return PlainTextResponse("No such source: open it in the dashboard first.", 404)
    return StreamingResponse(mjpeg_parts(p, request),
                             media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}",
                             headers={"Cache-Control": "no-store"})


app = st.App(str(Path(__file__).with_name("app.py")),
             routes=[Route("/video/{key}.mjpg", video)])
