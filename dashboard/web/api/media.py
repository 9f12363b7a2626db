"""Routes for a camera's pictures: stills, heat, and the MJPEG stream."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from dashboard.errors import NotAllowed, NotFound
from dashboard.service.access import UserService
from dashboard.web.api.common import (BOUNDARY, POLL_S, REPEAT_S, STOPPING, call, endpoint,
                                      error)


@endpoint
async def picture(request: Request, svc: UserService) -> Response:
    cid, what = request.path_params["cid"], request.path_params["what"]
    kinds = {"frame.jpg": ("jpeg", "image/jpeg"), "heatmap.png": ("heat_png", "image/png"),
             "heatmap.npz": ("heat_npz", "application/octet-stream")}
    if what not in kinds:
        raise NotFound("Pictures: frame.jpg, heatmap.png, heatmap.npz, video.mjpg.")
    method, media = kinds[what]
    args = (request.query_params.get("over", "scene") != "none",) if method == "heat_png" else ()
    data = await call(svc, method, cid, *args)
    if data is None:
        return error(404, "Nothing yet: the camera has not produced a frame (start it first).")
    return Response(data, media_type=media, headers={"Cache-Control": "no-store"})


async def mjpeg_parts(svc: UserService, cid: str, request: Request | None = None
                      ) -> AsyncIterator[bytes]:
    """The camera's overlay as a multipart/x-mixed-replace stream. Each part is followed at
    once by the next boundary, and while no new frame comes (a stopped camera) the last one
    is sent again every `REPEAT_S`: a browser shows a part only once the next one begins.
    Each picture is a checked call: the stream ends within `REPEAT_S` of its viewer's
    logout, removal or password change, and when the server is stopping (`STOPPING`)."""
    yield b"--" + BOUNDARY + b"\r\n"
    last, sent = None, 0.0
    loop = asyncio.get_running_loop()
    while not STOPPING.is_set() and (request is None or not await request.is_disconnected()):
        try:
            index = await run_in_threadpool(svc.peek_frame_index, cid)
            if index != last or loop.time() - sent >= REPEAT_S:
                jpeg = await run_in_threadpool(svc.jpeg, cid)
                sent = loop.time()
                if jpeg is not None:
                    last = index
                    yield (b"Content-Type: image/jpeg\r\nContent-Length: "
                           + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg
                           + b"\r\n--" + BOUNDARY + b"\r\n")
        except (NotFound, NotAllowed):
            return   # the camera was removed, or the viewer's login ended
        await asyncio.sleep(POLL_S)


@endpoint
async def video(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    await call(svc, "camera", cid)
    return StreamingResponse(mjpeg_parts(svc, cid, request),
                             media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}",
                             headers={"Cache-Control": "no-store"})
