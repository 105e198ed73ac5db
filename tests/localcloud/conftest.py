"""Fixtures of the twin's own tests: the harness application (tests/localcloud/fixtures/harness)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.template import Template

HARNESS = Path(__file__).parent / "fixtures" / "harness"


@pytest.fixture(autouse=True, scope="session")
def _quiet_moto() -> None:
    logging.getLogger("moto").setLevel(logging.CRITICAL)


@pytest.fixture(scope="session")
def harness_template() -> Template:
    return Template.load(HARNESS / "template.yaml")


@pytest.fixture
def restore_environ() -> Iterator[None]:
    import os

    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
