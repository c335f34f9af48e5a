from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder, so checkpoints/ and lightning_logs/ land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
