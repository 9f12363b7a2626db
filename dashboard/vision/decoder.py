"""The decoder process: one OpenCV capture in a process of its own, driven over its stdin and
stdout by `ChildCapture`, so that a decoder that crashes on a damaged or hostile stream (a
segfault in FFmpeg or OpenCV) ends this process and not the server.

Run as a plain script (`python decoder.py`): it imports OpenCV and NumPy only, so it starts
in a fraction of a second. Each request is one JSON line; each answer one JSON line, and
after a frame's answer its raw pixels.
"""
import json
import sys


def serve(stdin, stdout) -> None:
    """Answer requests until "release" or the end of stdin."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    cap = None
    for line in stdin:
        req = json.loads(line)
        op = req["op"]
        if op == "open":
            if req["webcam"]:
                cap = cv2.VideoCapture(int(req["target"]))
            else:
                ms = int(req["timeout_ms"])
                cap = cv2.VideoCapture(req["target"], cv2.CAP_FFMPEG,
                                       [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms,
                                        cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
            answer(stdout, {"ok": bool(cap.isOpened())})
        elif op == "read":
            ok, img = cap.read()
            if ok and img is not None:
                img = img if img.flags["C_CONTIGUOUS"] else img.copy()
                answer(stdout, {"ok": True, "shape": list(img.shape)}, img.data)
            else:
                answer(stdout, {"ok": False})
        elif op == "get":
            answer(stdout, {"value": float(cap.get(int(req["prop"])))})
        elif op == "set":
            answer(stdout, {"ok": bool(cap.set(int(req["prop"]), float(req["value"])))})
        elif op == "release":
            break
    if cap is not None:
        cap.release()


def answer(stdout, head: dict, data=None) -> None:
    stdout.write(json.dumps(head).encode() + b"\n")
    if data is not None:
        stdout.write(data)
    stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
