"""Offline demo assets: the bundled demo model and the synthetic scene generator."""
from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
DEMO_MODEL = DEMO_DIR / "demo_model.pt"
