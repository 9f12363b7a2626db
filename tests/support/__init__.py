"""What the tests share: real servers (dashboard, RTSP, PostgreSQL, Mosquitto, Ray), browsers, clips, faults and small helpers."""
