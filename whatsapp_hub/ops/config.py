"""Settings of health and metrics read at start-up (settings.py): a malformed value stops start-up, naming it."""

import ipaddress

from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The readiness checks (health.CHECKS) and those whose failure makes the hub not ready (503) by default: the ones
# this process cannot serve without. The others (a worker, beat, the ingest lag) are shared by every web process:
# failing them would take every one of them out of the load balancer at once, webhooks included, for a problem
# they cannot fix; they are reported (200, "degraded") unless listed in HEALTH_REQUIRED_CHECKS.
CHECKS = ("database", "redis", "channel_layer", "worker", "beat", "ingest_lag")
REQUIRED_BY_DEFAULT = ["database", "redis", "channel_layer"]


def networks(entries: list[str], *, setting: str = "METRICS_ALLOWED_NETWORKS") -> list[Network]:
    """CIDRs (or single addresses) as networks."""
    parsed = []
    for entry in entries:
        try:
            parsed.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{setting}: {entry!r} is not an IP network (e.g. 10.0.0.0/8).") from None
    return parsed


def required_checks(names: list[str], *, setting: str = "HEALTH_REQUIRED_CHECKS") -> list[str]:
    unknown = [name for name in names if name not in CHECKS]
    if unknown:
        raise ImproperlyConfigured(f"{setting}: unknown checks {unknown}; the checks are {', '.join(CHECKS)}.")
    return names


def log_format(value: str) -> str:
    if value not in ("plain", "json"):
        raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {value!r}.")
    return value
