"""What every entry point needs: settings, the database (migrated), the PII vault."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.core.config import Settings, get_settings
from siyu.core.crypto import Vault
from siyu.core.db import Database
from siyu.migrations import upgrade


@dataclass
class Runtime:
    settings: Settings
    db: Database
    vault: Vault


def start(settings: Settings | None = None, *, migrate: bool = True) -> Runtime:
    settings = settings or get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    if migrate:
        upgrade(settings.resolved_database_url)
    return Runtime(settings=settings, db=Database.from_settings(settings), vault=Vault.from_settings(settings))
