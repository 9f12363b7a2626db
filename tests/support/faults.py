"""Real faults for tests: a small tmpfs to fill, file permissions that bite (root
without its override), and a faststart MP4 (its index first, as phones and web encoders write them).

    with Tmpfs(tmp_path / "disk", "2m") as disk: fill(disk)  # ENOSPC from then on
"""
from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

class Tmpfs:
    """A tmpfs of `size` mounted at `path` (needs root, or the test is skipped)."""

    def __init__(self, path: Path, size: str) -> None:
        self.path, self.size = Path(path), size

    def __enter__(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size},mode=0777",
                               "tmpfs", str(self.path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        return self.path

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; delete it to give the space back."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
        try:   # the last few bytes too: SQLite needs only a page
            while True:
                f.write(b"\0" * 512)
                f.flush()
        except OSError:
            pass
    return filler


def permissions_apply() -> list[str]:
    """A command prefix under which file permissions bite: root normally overrides them, so
    as root the command runs without that capability (util-linux `setpriv`)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def faststart(src: Path, dst: Path) -> Path:
    """Rewrite an MP4 with its index (moov) before the media data (mdat), as
    `ffmpeg -movflags faststart` does: chunk offsets move by the index's length."""
    data = src.read_bytes()
    atoms, i = [], 0
    while i < len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        atoms.append((kind, data[i:i + size]))
        i += size
    moov = next(a for k, a in atoms if k == b"moov")
    shift = len(moov)
    moov = bytearray(moov)

    def patch(start: int, end: int) -> None:
        j = start
        while j < end:
            size, kind = struct.unpack(">I4s", moov[j:j + 8])
            if kind in (b"trak", b"mdia", b"minf", b"stbl", b"edts"):
                patch(j + 8, j + size)
            elif kind in (b"stco", b"co64"):
                n = struct.unpack(">I", moov[j + 12:j + 16])[0]
                w, fmt = (4, ">I") if kind == b"stco" else (8, ">Q")
                for e in range(n):
                    at = j + 16 + e * w
                    moov[at:at + w] = struct.pack(fmt, struct.unpack(fmt, moov[at:at + w])[0]
                                                  + shift)
            j += size

    patch(8, len(moov))
    out = [a for k, a in atoms if k == b"ftyp"] + [bytes(moov)] + \
        [a for k, a in atoms if k not in (b"ftyp", b"moov")]
    dst.write_bytes(b"".join(out))
    return dst
