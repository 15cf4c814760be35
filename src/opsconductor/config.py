"""Settings: environment variables (``OPSC_*``) over an optional YAML file over defaults.

``Settings`` is built once at the edge (CLI) and passed down; nothing imports a global.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from opsconductor.errors import ConfigError


class Settings(BaseSettings):
    """Every setting of the product. Each field maps to ``OPSC_<FIELD NAME IN CAPITALS>``."""

    model_config = SettingsConfigDict(env_prefix="OPSC_", extra="ignore")

    data_dir: Path = Field(
        Path("./opsc-data"), description="Where SQLite, TLS files and state live."
    )
    http_host: str = Field("127.0.0.1", description="Address the API and UI listen on.")
    http_port: int = Field(8080, ge=0, le=65535, description="Port of the API and UI (0 disables).")
    syslog_host: str = Field("0.0.0.0", description="Address the syslog receivers bind to.")
    syslog_udp_port: int = Field(5514, ge=0, le=65535, description="Syslog over UDP (0 disables).")
    syslog_tcp_port: int = Field(
        5514, ge=0, le=65535, description="Syslog over TCP, RFC 6587 framing (0 disables)."
    )
    syslog_tls_port: int = Field(
        6514, ge=0, le=65535, description="Syslog over TLS, RFC 5425 (0 disables)."
    )
    syslog_tls_cert: Path | None = Field(None, description="PEM certificate for the TLS receiver.")
    syslog_tls_key: Path | None = Field(None, description="PEM private key for the TLS receiver.")
    syslog_tls_client_ca: Path | None = Field(
        None, description="CA bundle; when set, TLS clients must present a certificate it signed."
    )
    syslog_max_message_bytes: int = Field(
        65536,
        ge=480,
        le=128 * 1024,
        description="Longest record accepted; longer ones are dead-lettered.",
    )
    syslog_max_connections: int = Field(
        1024, ge=1, description="Open TCP/TLS syslog connections per listener; more are refused."
    )
    udp_receive_buffer_bytes: int = Field(
        32 * 1024 * 1024, ge=65536, description="SO_RCVBUF asked for on the UDP socket."
    )
    database_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL; unset: SQLite in the data dir."
    )
    nats_url: SecretStr | None = Field(None, description="NATS server URL; unset: in-process bus.")
    nats_prefix: str = Field(
        "opsc", description="Prefix of JetStream stream names and subjects (one per deployment)."
    )
    nats_ack_wait_seconds: float = Field(
        30.0, gt=0, description="Redelivery delay of a message a crashed consumer held."
    )
    default_timezone: str = Field(
        "UTC", description="Zone assumed for timestamps that state none (RFC 3164, logread)."
    )
    retention_days: float = Field(7.0, gt=0, description="Events older than this are deleted.")
    findings_retention_days: float = Field(
        30.0, gt=0, description="Findings older than this are deleted (alerts are kept)."
    )
    retention_interval_seconds: float = Field(
        3600.0, gt=0, description="How often the retention job runs."
    )
    batch_max_events: int = Field(2000, ge=1, description="Most records in one bus batch.")
    batch_max_bytes: int = Field(
        384 * 1024,
        ge=128 * 1024,
        le=640 * 1024,
        description="Most encoded bytes in one bus batch (JetStream's max_payload is 1 MiB; "
        "parsing adds fields, so leave room).",
    )
    batch_max_delay_ms: float = Field(
        50.0, gt=0, description="Longest a record waits for its batch to fill."
    )
    queue_max_batches: int = Field(
        64, ge=1, description="Bound of each in-process queue, in batches (backpressure)."
    )
    http_max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest body POST /api/v1/logs accepts."
    )
    http_accept_timeout_seconds: float = Field(
        2.0, gt=0, description="How long POST /api/v1/logs waits for room before answering 503."
    )
    classification_file: Path | None = Field(
        None, description="Extra YAML classification table, applied before the built-in one."
    )
    agent_tick_seconds: float = Field(
        5.0, gt=0, description="How often agents check absence and hold timers."
    )
    agent_partitions: int = Field(
        8, ge=1, le=256, description="Partitions of agent state by device (distributed mode)."
    )
    alert_cooldown_seconds: float = Field(
        900.0, ge=0, description="Default notification cooldown per alert fingerprint."
    )
    alert_flap_count: int = Field(
        4, ge=2, description="Status changes within the flap window that mark an alert flapping."
    )
    alert_flap_window_seconds: float = Field(
        1800.0, gt=0, description="Window in which status changes are counted for flapping."
    )
    alert_escalate_after: int = Field(
        0, ge=0, description="Default repeats before an alert's severity rises a level (0: never)."
    )
    admin_password: SecretStr | None = Field(
        None, description="Password of the admin user created on first start (else generated)."
    )
    access_token_minutes: float = Field(
        15.0, gt=0, le=1440, description="Lifetime of an access token."
    )
    refresh_token_days: float = Field(7.0, gt=0, le=365, description="Lifetime of a refresh token.")
    session_hours: float = Field(
        12.0, gt=0, le=720, description="Longest life of a web console session."
    )
    session_idle_minutes: float = Field(
        120.0, gt=0, le=43200, description="Minutes unused after which a console session ends."
    )
    secure_cookies: bool = Field(
        False, description="Mark the console's cookies Secure (always when served over HTTPS)."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins in a row that lock an account."
    )
    login_lockout_seconds: float = Field(
        900.0, ge=0, description="How long a locked account stays locked."
    )
    login_source_max_failures: int = Field(
        20, ge=1, description="Failed logins from one address per window before it is refused."
    )
    login_source_window_seconds: float = Field(
        300.0, gt=0, description="Window of the per-address failed-login limit."
    )
    metrics_open: bool = Field(
        False, description="Serve /metrics without a token (for a scraper on a trusted network)."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser."
    )
    ip_allowlist: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per role, the networks (CIDR) its callers must come from; unset: any.",
    )
    api_max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body of the management API."
    )
    log_level: str = Field("INFO", description="Level of the JSON logs on stderr.")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"unknown log level {value!r}")
        return value.upper()

    @field_validator("ip_allowlist")
    @classmethod
    def _known_roles_and_networks(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        import ipaddress

        from opsconductor.auth.roles import check_role

        for role, networks in value.items():
            check_role(role)
            for network in networks:
                ipaddress.ip_network(network, strict=False)  # ValueError names the bad one
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: the configured one, or SQLite in the data dir."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{(self.data_dir / 'opsconductor.db').resolve()}"

    @property
    def distributed(self) -> bool:
        """True when stages talk over NATS JetStream rather than the in-process bus."""
        return self.nats_url is not None

    def masked(self) -> dict[str, Any]:
        """The effective settings with secrets masked, for ``config show``."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = mask_url(value.get_secret_value()) if name.endswith("_url") else "********"
            elif isinstance(value, Path):
                value = str(value)
            shown[name] = value
        shown["effective_database_url"] = mask_url(self.effective_database_url)
        return shown


def mask_url(url: str) -> str:
    """A URL safe to print: user kept, password or token hidden, secret query values hidden.

    ``postgresql://u:pw@h/db`` → ``postgresql://u:***@h/db``; ``nats://TOKEN@h`` →
    ``nats://***@h``; ``…?password=x`` → ``…?password=***``.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    if "@" in rest.split("/", 1)[0]:
        credentials, _, rest = rest.rpartition("@")
        user, colon, _ = credentials.partition(":")
        rest = f"{user}:***@{rest}" if colon else f"***@{rest}"
    rest = re.sub(r"(?i)([?&](?:password|passwd|pass|token|secret)=)[^&]*", r"\1***", rest)
    return f"{scheme}://{rest}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings: defaults < YAML file < environment < explicit overrides."""
    file_values: dict[str, Any] = {}
    if config_file is not None:
        try:
            loaded = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {config_file} must hold a mapping of settings")
        file_values = {str(k).lower(): v for k, v in loaded.items()}
    try:
        env_settings = Settings()
        merged = {**file_values, **env_settings.model_dump(exclude_unset=True), **overrides}
        return Settings.model_validate(merged)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
