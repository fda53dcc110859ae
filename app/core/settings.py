"""Settings: every knob of DESIGN §6, read from `LOOPGATE_*` environment variables."""

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _parse_mapping(pairs: list[str], field: str) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{field}: expected KEY=VALUE pairs separated by commas, got {pair!r}")
        mapping[key.strip()] = value.strip()
    return mapping


@dataclass(frozen=True)
class BlameIndicatorEntry:
    """One entry of LOOPGATE_BLAME_INDICATORS: a phrase, its suggestion (None: the generic one), and
    whether '~' marked it ambiguous. The lint (app/postmortems/blame.py) turns entries into indicators."""

    phrase: str
    suggestion: str | None
    marked_ambiguous: bool


def parse_blame_indicators(spec: str) -> tuple[BlameIndicatorEntry, ...]:
    """Read 'phrase=suggestion;~phrase2'; blank (no entries) means the lint's defaults."""
    if not spec or not spec.strip():
        return ()
    entries: dict[str, BlameIndicatorEntry] = {}
    for number, entry in enumerate(spec.split(";"), start=1):
        if not entry.strip():
            continue  # tolerate a trailing or doubled ';'
        raw_phrase, has_suggestion, suggestion = entry.partition("=")
        phrase = " ".join(raw_phrase.split())
        key = phrase.lstrip("~").strip().lower()
        where = f"LOOPGATE_BLAME_INDICATORS entry {number} ({entry.strip()!r})"
        if not re.search(r"\w", key):
            raise ValueError(f"{where} has an empty phrase; expected 'phrase=suggestion' or 'phrase'")
        if has_suggestion and not suggestion.strip():
            raise ValueError(f"{where} has an empty suggestion; drop the '=' to use the generic one")
        if key in entries:
            raise ValueError(f"{where} repeats the phrase {key!r}")
        entries[key] = BlameIndicatorEntry(phrase.lstrip("~").strip(), suggestion.strip() or None,
                                           phrase.startswith("~"))
    if not entries:
        raise ValueError("LOOPGATE_BLAME_INDICATORS lists no phrase; leave it empty for the defaults")
    return tuple(entries.values())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOPGATE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./loopgate.db"
    redis_url: str | None = None
    # A `loopgate worker` serves its job counters for Prometheus on this port (unset: it does not).
    worker_metrics_port: int | None = Field(None, ge=1, le=65535)
    admin_token: SecretStr | None = None
    public_url: str = "http://localhost:8000"
    # The gate badges (GET /api/v1/gates/…/badge.svg) answer without a token (READMEs, dashboards).
    public_badges: bool = False

    pagerduty_api_url: str = "https://api.pagerduty.com"
    pagerduty_api_token: SecretStr | None = None
    pagerduty_webhook_secrets: Annotated[list[SecretStr], NoDecode] = []
    ca_bundle: str | None = None
    # Every PagerDuty REST call: its timeout, how often it is tried, the first back-off.
    pagerduty_timeout_seconds: float = Field(10.0, gt=0)
    pagerduty_max_attempts: int = Field(4, ge=1)
    pagerduty_backoff_seconds: float = Field(0.5, ge=0)
    # PagerDuty allows 960 REST requests a minute per token; this process keeps under it.
    pagerduty_requests_per_minute: int = Field(960, ge=1)

    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_project: str | None = None
    jira_issue_type: str = "Task"
    jira_webhook_secret: SecretStr | None = None
    # Every Jira call: its timeout; a ticket's create attempts, first back-off, and the pause
    # between the two label searches that precede a retry (Jira search lags behind writes).
    jira_timeout_seconds: float = Field(10.0, gt=0)
    jira_max_attempts: int = Field(6, ge=1)
    jira_backoff_seconds: float = Field(30.0, ge=0)
    jira_search_delay_seconds: float = Field(5.0, ge=0)
    jira_priority_map: CommaList = ["P1=Highest", "P2=High", "P3=Medium"]
    jira_wont_do_resolutions: CommaList = ["Won't Do", "Won't Fix", "Declined", "Duplicate"]

    packet_sla_hours: int = Field(24, ge=1)
    postmortem_required_severities: CommaList = ["critical", "high"]
    postmortem_due_days: int = Field(7, ge=0)
    repeat_lookback_days: int = Field(90, ge=0)
    max_body_bytes: int = Field(262144, ge=1024)

    # How PagerDuty priorities and urgencies become a severity (DESIGN §2).
    priority_severity_map: CommaList = ["P1=critical", "P2=high", "P3=medium", "P4=low", "P5=low"]
    urgency_severity_map: CommaList = ["high=high", "low=low"]

    # Jobs: how often the sweeper looks for rows a lost job left unhandled,
    # how many in-process jobs run at once, and how often a job is tried; how many stored
    # events one transaction of the apply job takes (on SQLite it holds the write lock meanwhile).
    sweep_interval_seconds: float = Field(60.0, gt=0)
    job_concurrency: int = Field(8, ge=1)
    job_max_attempts: int = Field(5, ge=1)
    apply_batch_size: int = Field(200, ge=1, le=5000)

    # Blame lint (DESIGN §3): 'phrase=suggestion;~ambiguous phrase' (blank: the defaults), and
    # whether blame language blocks closing a postmortem (default: it only warns).
    blame_indicators: str = ""
    blame_blocking: bool = False

    # Metrics (DESIGN §5): how many distinct postmortems make a pattern, the recommendation text per
    # tag or category (JSON object, merged over the defaults), maturity thresholds by
    # "<level>.<criterion>" (JSON object), and how often the Prometheus gauges are recomputed (0: not in this process).
    pattern_min_occurrences: int = Field(3, ge=1)
    pattern_recommendations: dict[str, str] = {}
    maturity_thresholds: dict[str, float] = {}
    metrics_refresh_seconds: float = Field(60.0, ge=0)

    # Outbound subscriptions (DESIGN §7): hosts a subscriber URL may name (empty: any, loopback and
    # private ranges included; `*.example.com` allows its subdomains), and every delivery's timeout.
    subscription_allowed_hosts: CommaList = []
    subscription_timeout_seconds: float = Field(10.0, gt=0)
    # Without Redis, the API process runs the scheduled jobs (escalate, packet_sla, digest, reconcile_jira)
    # at their times; false leaves them to `loopgate jobs run JOB` from an outside scheduler.
    schedule_in_process: bool = True

    @field_validator("postmortem_required_severities", "priority_severity_map", "urgency_severity_map",
                     "jira_priority_map", "jira_wont_do_resolutions", "subscription_allowed_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split(value)

    @field_validator("pagerduty_webhook_secrets", mode="before")
    @classmethod
    def _secret_list(cls, value: object) -> object:
        return _split(value)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must start with redis:// or rediss://")
        return value or None

    @field_validator("priority_severity_map", "urgency_severity_map", "jira_priority_map")
    @classmethod
    def _valid_mapping(cls, value: list[str], info: ValidationInfo) -> list[str]:
        _parse_mapping(value, info.field_name or "")
        return value

    @field_validator("blame_indicators")
    @classmethod
    def _valid_blame_indicators(cls, value: str) -> str:
        parse_blame_indicators(value)
        return value

    @cached_property
    def blame_indicator_entries(self) -> tuple[BlameIndicatorEntry, ...]:
        return parse_blame_indicators(self.blame_indicators)

    @cached_property
    def jira_priority(self) -> dict[str, str]:
        return _parse_mapping(self.jira_priority_map, "jira_priority_map")

    @cached_property
    def priority_severity(self) -> dict[str, str]:
        return _parse_mapping(self.priority_severity_map, "priority_severity_map")

    @cached_property
    def urgency_severity(self) -> dict[str, str]:
        return _parse_mapping(self.urgency_severity_map, "urgency_severity_map")


class SettingsError(SystemExit):
    """Raised at start-up for an invalid setting: a readable message, not a traceback."""


def load_settings(**overrides: Any) -> Settings:  # Any: a setting's value, validated by Settings
    """Read the settings, turning a validation failure into a one-screen message."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = ["loopgate: invalid configuration"]
        for error in exc.errors():
            name = "LOOPGATE_" + "_".join(str(p) for p in error["loc"][:1]).upper()
            lines.append(f"  {name}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from None
