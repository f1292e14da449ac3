"""A record not named level:metric:operations fails the build."""

from dataclasses import replace

from rules_py.api import REQUEST_RATE
from rules_py.dsl import RuleGroup

groups = (RuleGroup("case", (replace(REQUEST_RATE, record="api_request_rate"),)),)
