"""Prometheus's and Alertmanager's configs for a target profile (compose, the native stack).

The same functions write `generated/` and the end-to-end test's configs, so the native stack
never runs a config edited by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from authoring import config
from authoring.profiles import Profile
from authoring.rules_dsl import SEVERITIES, RuleGroup
from generator.yaml_out import dump

__all__ = [
    "ALERTMANAGER_RECEIVER",
    "inhibit_rules",
    "render_alertmanager_config",
    "render_prometheus_config",
]

ALERTMANAGER_RECEIVER = "bike-api"


def render_prometheus_config(profile: Profile) -> str:
    """prometheus.yml for a profile: its scrape jobs (the API's with every replica), our rule
    files, its Alertmanager."""
    return dump(
        {
            "global": {
                "scrape_interval": profile.scrape_interval,
                "evaluation_interval": profile.evaluation_interval,
            },
            "rule_files": [f"{profile.rules_dir}/*.yml"],
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [profile.alertmanager]}]}]
            },
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": _job_targets(profile, job)}]}
                for job in profile.targets()
            ]
            + [_dns_job(job, target) for job, target in sorted(profile.optional.items())],
        }
    )


def _job_targets(profile: Profile, job: str) -> list[str]:
    """A static job's targets: every replica of the API, one address for the others."""
    return list(profile.api_targets) if job == config.API_JOB else [profile.targets()[job]]


def _dns_job(job: str, target: str) -> dict[str, Any]:
    """A job whose target exists while its service does: resolved by name at each refresh,
    so a service that is not running is no target at all (rather than a target down)."""
    name, _, port = target.rpartition(":")
    return {"job_name": job, "dns_sd_configs": [{"names": [name], "type": "A", "port": int(port)}]}


def inhibit_rules(groups: Iterable[RuleGroup]) -> list[dict[str, Any]]:
    """One rule per alert that `inhibits` a severity: while it fires, alerts of that severity
    on the same job are muted (the job's, across replicas: an alert on every replica has no
    instance)."""
    return [
        {
            "source_matchers": [f'alertname="{alert.name}"'],
            "target_matchers": [f'severity="{alert.inhibits}"'],
            "equal": ["job"],
        }
        for group in groups
        for alert in group.alerts
        if alert.inhibits is not None
    ]


def _webhook(profile: Profile) -> dict[str, Any]:
    """The API's webhook, authenticated: Alertmanager reads the bearer token from a file at
    each notification, so the token never enters generated/."""
    return {
        "url": profile.alert_webhook_url,
        "send_resolved": True,
        "http_config": {
            "authorization": {
                "type": "Bearer",
                "credentials_file": profile.webhook_credentials_file,
            }
        },
    }


def render_alertmanager_config(profile: Profile, groups: Iterable[RuleGroup]) -> str:
    """alertmanager.yml for a profile: routes by severity, all to the API's webhook, and the
    inhibitions the rule groups declare."""
    return dump(
        {
            "route": {
                "receiver": ALERTMANAGER_RECEIVER,
                "group_by": ["alertname", "job"],
                "group_wait": config.ALERTMANAGER_TIMING["warning"]["group_wait"],
                "group_interval": config.ALERTMANAGER_GROUP_INTERVAL,
                "repeat_interval": config.ALERTMANAGER_TIMING["warning"]["repeat_interval"],
                "routes": [
                    {
                        "matchers": [f'severity="{severity}"'],
                        "receiver": ALERTMANAGER_RECEIVER,
                        **config.ALERTMANAGER_TIMING[severity],
                    }
                    for severity in SEVERITIES
                ],
            },
            "inhibit_rules": inhibit_rules(groups),
            "receivers": [
                {
                    "name": ALERTMANAGER_RECEIVER,
                    "webhook_configs": [_webhook(profile)],
                }
            ],
        }
    )
