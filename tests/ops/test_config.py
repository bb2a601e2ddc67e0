"""The settings of health and metrics: a malformed value stops start-up, naming it."""

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured

from whatsapp_hub.ops import config


def test_metrics_networks_are_cidrs_or_addresses():
    assert config.networks(["10.0.0.0/8", "192.168.1.7", "fd00::/8"]) == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.7/32"),
        ipaddress.ip_network("fd00::/8"),
    ]
    with pytest.raises(ImproperlyConfigured, match=r"^METRICS_ALLOWED_NETWORKS: 'intranet' is not an IP network"):
        config.networks(["10.0.0.0/8", "intranet"])


def test_required_checks_must_be_known_checks():
    assert config.required_checks(["database", "worker"]) == ["database", "worker"]
    with pytest.raises(ImproperlyConfigured, match=r"^HEALTH_REQUIRED_CHECKS: unknown checks \['celery'\]; the checks"):
        config.required_checks(["database", "celery"])
