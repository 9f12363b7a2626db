"""Crossings in the real footage of `../shared/real`, counted by looking at the frames (each
one checked on a picture of that frame with the line drawn): a horizontal line across 60% of
the picture's height, drawn left to right, so moving down the picture is IN. Each crossing
is (frame where the object's box centre passes the line, direction, what it is).

How each was established (see the issue note of 2026-12-05):
- road-cars-gorknnlite.mp4 (1280x720, 30 fps, 268 frames): six cars drive towards the camera
  and pass the line: a white hatchback (frame 19), a dark Audi (36), a silver hatchback (59),
  a red Nissan (85), a dark saloon (95), a dark saloon far behind (205). A red Audi and a navy
  car are already past it in frame 0; a white car is still above it in the last frame.
- street-pedestrians-yassim.mp4 (1920x1080, 30 fps, 302 frames): a man riding a bicycle goes
  down across the line (55); a woman in a dark coat walks down across it (136); a man walking
  his bicycle up the street crosses it going up (about 147, standing on it from 145 to 148);
  a man in black walks up across it from the left edge (158). The woman in red starts below
  it; those walking along the bottom never reach it.
- intel-car-detection.mp4 (768x432, 12.5 fps, 377 frames, a car park from above): a white
  car drives up across the line (76), a red car up (209) while a silver car comes down (210),
  and a white car comes down (335).
"""
from __future__ import annotations

LINE_AT = 0.6   # of the picture's height

TRUTH = {
    "road-cars-gorknnlite.mp4": [(19, "in", "car"), (36, "in", "car"), (59, "in", "car"),
                                 (85, "in", "car"), (95, "in", "car"), (205, "in", "car")],
    "street-pedestrians-yassim.mp4": [(55, "in", "cyclist"), (136, "in", "person"),
                                      (147, "out", "cyclist"), (158, "out", "person")],
    "intel-car-detection.mp4": [(76, "out", "car"), (209, "out", "car"), (210, "in", "car"),
                                (335, "in", "car")],
}


def matched(counted: list[tuple[int, str, str]], truth: list[tuple[int, str, str]],
            within: int = 5) -> tuple[list, list, list]:
    """(right, extra, missed): each counted crossing (frame, direction, class) paired with a
    true one of the same direction within `within` frames, each true one used once.

    Example:
        >>> matched([(20, "in", "car"), (90, "in", "car")], [(19, "in", "car"), (36, "in", "car")])
        ([((20, 'in', 'car'), (19, 'in', 'car'))], [(90, 'in', 'car')], [(36, 'in', 'car')])
    """
    left = list(truth)
    right, extra = [], []
    for c in sorted(counted):
        near = [t for t in left if t[1] == c[1] and abs(t[0] - c[0]) <= within]
        if near:
            t = min(near, key=lambda t: abs(t[0] - c[0]))
            left.remove(t)
            right.append((c, t))
        else:
            extra.append(c)
    return right, extra, left
