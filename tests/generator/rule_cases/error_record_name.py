"""A record not named level:metric:operations fails the build."""

from dataclasses import replace

from authoring.rules_dsl import RuleGroup
from rules_py.api import REQUEST_RATE

groups = (RuleGroup("case", (replace(REQUEST_RATE, record="api_request_rate"),)),)
