"""Files the tests read, named once (so a test module can move without its paths breaking)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS = REPO_ROOT / "tests"
FIXTURES = TESTS / "fixtures"
CDNOW = FIXTURES / "cdnow"
CDNOW_MASTER = CDNOW / "CDNOW_master.txt.gz"
EXPORTS = FIXTURES / "exports"
MANIFEST = REPO_ROOT / "manifest.yml"
README = REPO_ROOT / "README.md"
