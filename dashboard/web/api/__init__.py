"""The HTTP API under /api: JSON over the service, one router module per resource.

Every answer is JSON (or a picture, CSV, or the MJPEG stream); an error is
`{"error": "what went wrong and what to do"}` with the status its exception carries
(`dashboard.errors`: 400 bad input, 401 no live login, 403 not allowed, 404 no such camera
or zone, 409 a clash, 415 not JSON, 503 the database cannot be written now), or 500 (our
fault: logged, never detailed).
Service calls can block (a start waits for the old run to end, a camera on Ray may be
moving between nodes), so every one runs on Starlette's thread pool, never on the event loop
that serves every page and every other client.
"""
