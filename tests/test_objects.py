"""One object, one box, one class (dashboard/vision/objects.py), as tables of hand-made
boxes and tracks: what a detector says twice about one object is one, and what are really
two objects stay two."""
from __future__ import annotations

import numpy as np
import pytest

from dashboard.engine import Engine, LineZone, Tracks
from dashboard.vision.objects import ClassVotes, OneBox, Riders

NAMES = {0: "person", 1: "bicycle", 2: "car", 3: "truck", 4: "bus"}
CAR = [100, 100, 200, 160]


@pytest.mark.parametrize("boxes, kept", [
    # (box, confidence, class) per row; kept: the rows left, in confidence order
    ([(CAR, .9, 2), ([102, 101, 201, 162], .8, 3)], [0]),          # a car, also a truck
    ([(CAR, .6, 3), ([101, 100, 199, 161], .8, 2)], [1]),          # the better one stays
    ([(CAR, .9, 2), ([103, 98, 198, 160], .7, 4)], [0]),           # a car, also a bus
    ([(CAR, .9, 2), ([300, 100, 400, 160], .8, 3)], [0, 1]),       # a car and a truck apart
    ([(CAR, .9, 2), ([150, 100, 250, 160], .8, 2)], [0, 1]),       # two cars half over
    ([([10, 10, 60, 40], .9, 1), ([12, 12, 40, 38], .8, 1)], [0]),  # a bicycle and its part
    ([([10, 0, 50, 100], .8, 0), ([14, 2, 46, 50], .9, 0)], [0]),  # a body, its upper part
    ([([10, 0, 50, 100], .9, 0), ([30, 40, 70, 140], .8, 0)], [0, 1]),  # two people crossing
    ([([10, 0, 50, 100], .9, 0), ([15, 60, 45, 90], .8, 1)], [0, 1]),  # a rider and the bike
    ([], []),
])
def test_one_box_per_object(boxes, kept):
    xyxy = np.array([b for b, _, _ in boxes], np.float32).reshape(-1, 4)
    conf = np.array([c for _, c, _ in boxes], np.float32)
    cls = np.array([k for _, _, k in boxes], np.float32)
    out_xyxy, out_conf, out_cls = OneBox(NAMES).apply(xyxy, conf, cls)
    assert out_xyxy.tolist() == xyxy[kept].tolist()
    assert out_cls.tolist() == cls[kept].tolist()                   # each keeps its own class


@pytest.mark.parametrize("given, shown", [
    ([2, 2, 2, 3, 3, 2], [2, 2, 2, 2, 2, 2]),     # a car called truck now and then
    ([3, 2, 2], [3, 3, 2]),                        # a tie goes to the class given first
    ([0], [0]),
])
def test_a_track_keeps_the_class_it_was_given_most_often(given, shown):
    votes = ClassVotes()
    got = []
    for c in given:
        t = Tracks(xyxy=np.zeros((1, 4), np.float32), ids=np.array([5]),
                   cls=np.array([c], np.float32), conf=np.ones(1, np.float32), names=NAMES)
        got.append(int(votes.apply(t).cls[0]))
    assert got == shown


def test_a_car_boxed_as_car_and_truck_crosses_once_and_as_a_car():
    """Two boxes on one car, both tracked, would cross twice; one box, once."""
    for one_box, classes in ((False, ["car", "truck"]), (True, ["car"])):
        engine, votes = Engine(zones=[LineZone("gate", (150, 0), (150, 300))]), ClassVotes()
        events = []
        for k in range(20):
            x = 40 + 10 * k
            xyxy = np.array([[x, 100, x + 60, 150], [x + 1, 101, x + 61, 152]], np.float32)
            conf, cls = np.array([.9, .8], np.float32), np.array([2, 3 if k % 3 else 2],
                                                                  np.float32)
            if one_box:
                xyxy, conf, cls = OneBox(NAMES).apply(xyxy, conf, cls)
            t = votes.apply(Tracks(xyxy=xyxy, ids=np.arange(1, len(conf) + 1), cls=cls,
                                   conf=conf, names=NAMES))
            events += engine.update(np.zeros((300, 400, 3), np.uint8), t, k / 10,
                                    draw=False).events
        assert sorted(e.cls_name for e in events) == classes


RIDE_NAMES = {0: "person", 1: "bicycle", 3: "motorcycle"}
PERSON = [100, 0, 140, 100]


@pytest.mark.parametrize("boxes, riders", [
    # (box, class) rows; riders: (union box, class name) made, then who stays apart
    ([(PERSON, 0), ([95, 50, 145, 110], 1)], [([95, 0, 145, 110], "cyclist")]),
    ([(PERSON, 0), ([90, 60, 150, 105], 3)], [([90, 0, 150, 105], "motorcyclist")]),
    ([(PERSON, 0), ([160, 50, 210, 110], 1)], [(PERSON, "person"), ([160, 50, 210, 110],
                                                                     "bicycle")]),  # beside
    ([(PERSON, 0), ([95, -20, 145, 30], 1)], [(PERSON, "person"), ([95, -20, 145, 30],
                                                                   "bicycle")]),  # above: carried
    ([([150, 0, 190, 100], 0), (PERSON, 0), ([95, 50, 145, 110], 1)],  # one rides, one walks
     [([95, 0, 145, 110], "cyclist"), ([150, 0, 190, 100], "person")]),
    ([(PERSON, 0)], [(PERSON, "person")]),
])
def test_a_rider_and_what_they_ride_are_one(boxes, riders):
    r = Riders(RIDE_NAMES)
    xyxy = np.array([b for b, _ in boxes], np.float32)
    conf = np.linspace(.9, .6, len(boxes)).astype(np.float32)
    out, _, cls = r.apply(xyxy, conf, np.array([k for _, k in boxes], np.float32))
    assert [(b, r.names[int(c)]) for b, c in zip(out.tolist(), cls)] == \
        [([float(v) for v in b], name) for b, name in riders]


def test_a_model_without_people_or_vehicles_ridden_has_no_riders():
    assert Riders({0: "car", 1: "bicycle"}).rides == {}
    assert Riders({0: "person", 1: "car"}).rides == {}
    assert Riders({0: "person", 1: "bicycle"}).names == {0: "person", 1: "bicycle",
                                                         2: "cyclist"}


# -- rule 5: two tracks over one object ------------------------------------------------------
def box(x, y=0, w=100, h=50):
    return [x, y, x + w, y + h]


@pytest.mark.parametrize("frames, crossings", [
    # (per frame: (id, box, class) per track); crossings of a line at x = 200 (IN rightwards)
    # a car and a truck box half a car's width behind it, moving together: one car crosses
    ([[(1, box(100 + 10 * k), 2), (2, box(130 + 10 * k), 3)] for k in range(20)], 1),
    # two people walking on, side by side with a gap: two
    ([[(1, box(100 + 10 * k, 0, 40, 90), 0), (2, box(150 + 10 * k, 0, 40, 90), 0)]
      for k in range(20)], 2),
    # two people passing each other, overlapping for 3 frames: two
    ([[(1, box(100 + 10 * k, 0, 40, 90), 0), (2, box(300 - 10 * k, 0, 40, 90), 0)]
      for k in range(20)], 2),
    # a body, and its upper part boxed every other frame (a track of its own): one
    ([[(1, box(100 + 10 * k, 0, 40, 90), 0)] + ([(2, box(104 + 10 * k, 2, 32, 40), 0)]
                                                if k % 2 else []) for k in range(20)], 1),
    # a car and a truck box over it; the car's track is lost before the line, the truck's
    # goes on across it: one car crosses, once
    ([[(1, box(100 + 10 * k), 2)] * (k < 3) + [(2, box(110 + 10 * k), 3)]
      for k in range(20)], 1),
    # one mostly hidden behind the other for 8 frames, then ahead of it: still two
    ([[(1, box(100 + 10 * k, 0, 40, 90), 0),
       (2, box(110 + 10 * k + (0 if k < 8 else 10 * (k - 8)), 0, 40, 90), 0)]
      for k in range(20)], 2),
])
def test_tracks_that_move_together_over_one_object_count_once(frames, crossings):
    from dashboard.vision.objects import Twins

    twins = Twins(NAMES)
    engine = Engine(zones=[LineZone("gate", (200, 300), (200, -300), confirm_frames=1)])
    img = np.zeros((400, 600, 3), np.uint8)
    for k, frame in enumerate(frames):
        tracks = Tracks([b for _, b, _ in frame], [i for i, _, _ in frame],
                        [c for _, _, c in frame], [0.9] * len(frame), NAMES)
        engine.update(img, twins.apply(tracks), k / 10, draw=False)
    c = engine.counts["gate"]
    assert c.in_count + c.out_count == crossings
