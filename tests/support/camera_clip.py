"""A generated clip for Chromium's fake camera, with its ground truth.

Chromium plays a .y4m file as the camera (`--use-file-for-fake-video-capture`) and loops it.
So that a loop never cuts a track, the clip is an empty street, then the scene, then the
empty street again; each frame carries its index as a strip of black and white blocks in
the top-left corner (on the buildings, where nobody walks), so a test reading the server's
picture knows which part of the clip the camera is counting.

    clip = CameraClip.make(tmp_path, seconds=20); clip.y4m, clip.video, clip.truth(zone)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from dashboard.demo.scene import NAMES, Scene
from dashboard.engine import Engine, Tracks

BITS = 9            # frame indices 0..511, plus one parity block
BLOCK = 20          # pixels of one block at 640x360
MAX_FRAMES = 2 ** BITS


def stamp(img: np.ndarray, index: int) -> None:
    """Write `index` into the top-left corner as blocks (white = 1), parity last."""
    bits = [(index >> b) & 1 for b in range(BITS)]
    for i, bit in enumerate([*bits, sum(bits) % 2]):
        x = 4 + i * BLOCK
        img[4:4 + BLOCK, x:x + BLOCK] = 255 if bit else 0


def read_stamp(img: np.ndarray) -> int | None:
    """The index `stamp` wrote, read at block centres relative to the picture's size (the
    browser may send it scaled); None if unreadable.

    Example:
        >>> img = np.full((360, 640, 3), 128, np.uint8); stamp(img, 300); read_stamp(img)
        300
    """
    h, w = img.shape[:2]
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
    bits = []
    for i in range(BITS + 1):
        cx = (4 + i * BLOCK + BLOCK / 2) / 640 * w
        cy = (4 + BLOCK / 2) / 360 * h
        r = max(1, int(BLOCK / 4 / 640 * w))
        v = float(gray[int(cy) - r:int(cy) + r + 1, int(cx) - r:int(cx) + r + 1].mean())
        if 70 < v < 185:
            return None      # neither black nor white: not a block
        bits.append(int(v >= 128))
    if sum(bits[:BITS]) % 2 != bits[BITS]:
        return None
    return sum(b << i for i, b in enumerate(bits[:BITS]))


@dataclass
class CameraClip:
    """The clip's files and where its scene lies among its frames."""

    y4m: Path
    video: Path
    frames: int
    scene: range            # the frame indices where people and cars move
    fps: float
    boxes: list             # per frame: the true boxes (TruthBox) in it

    @classmethod
    def make(cls, folder: Path, seconds: float = 20.0, empty_s: tuple[float, float] = (3, 4),
             fps: float = 10.0, seed: int = 11) -> "CameraClip":
        scene = Scene(seed=seed, fps=fps)
        street = Scene(seed=seed, fps=fps).render()[0]     # the same street, nobody in it
        lead, tail = (int(round(s * fps)) for s in empty_s)
        frames = [(street.copy(), []) for _ in range(lead)]
        # The street starts empty and fills up: nobody appears out of nowhere (which the
        # browser's video encoder, starting a new scene, blurs for a few frames).
        frames += [(img.copy(), truth) for img, truth in scene.frames(seconds, warm_s=0)]
        frames += [(street.copy(), []) for _ in range(tail)]
        assert len(frames) <= MAX_FRAMES
        h, w = street.shape[:2]
        y4m, video = folder / "camera.y4m", folder / "camera.avi"
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        with open(y4m, "wb") as f:
            f.write(f"YUV4MPEG2 W{w} H{h} F{int(fps)}:1 Ip A1:1 C420jpeg\n".encode())
            for i, (img, _) in enumerate(frames):
                stamp(img, i)
                f.write(b"FRAME\n" + cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420).tobytes())
                writer.write(img)
        writer.release()
        return cls(y4m, video, len(frames), range(lead, len(frames) - tail), fps,
                   [truth for _, truth in frames])

    def truth(self, zone) -> tuple[int, int]:
        """(in, out) of an engine zone over the true tracks of one pass of the clip."""
        engine = Engine(zones=[zone])
        blank = np.zeros((360, 640, 3), np.uint8)
        for i, boxes in enumerate(self.boxes):
            tracks = Tracks([b.xyxy for b in boxes], [b.id for b in boxes],
                            [b.cls for b in boxes], [1.0] * len(boxes), NAMES) \
                if boxes else Tracks.empty(NAMES)
            engine.update(blank, tracks, i / self.fps, draw=False)
        c = engine.counts[zone.name]
        return c.in_count, c.out_count
