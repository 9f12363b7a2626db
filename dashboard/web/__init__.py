"""The server: pages, the HTTP API, login and the gate in front of both."""
