"""Settings, read from ``IPS_*`` environment variables (and overridden by command-line flags)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IPS_", extra="ignore")

    database_url: str = "sqlite:///ips.sqlite3"
    """A plain URL: ``sqlite:///path`` or ``postgresql://user@host:port/db``."""
    key_file: Path = Path("ips.key")
    """The key ring that seals card numbers and secret words; created (mode 0600) if absent."""

    processing: str = ""
    """``HOST:PORT`` of the processing center; empty starts the simulator in-process."""
    simulator_store: Path = Path("processing-center.sqlite3")
    processing_timeout: float = 15.0
    """Seconds to wait for an answer before the authorization counts as unanswered."""
    terminal_id: str = "IPS00001"
    acquirer_id: str = "10000000001"

    reversal_attempts: int = 3
    """Reversals sent while the buyer waits; the janitor repeats them after that."""
    janitor_interval: float = 10.0
