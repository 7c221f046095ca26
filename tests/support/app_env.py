"""The app's settings and process-wide services pointed elsewhere for a while (tests, benchmarks): the
environment variables the one settings object reads are set, its cache and the services are dropped, and
all of it is put back afterwards, also when the body fails."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from million.services import set_services
from million.settings import Settings, get_settings


@contextmanager
def app_environment(env: dict[str, str]) -> Iterator[Settings]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    set_services(None)
    try:
        yield get_settings()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        set_services(None)
