"""Request and response bodies of /predict: the exam's BikeSharingInput and PredictionOutput."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import JsonDict

__all__ = [
    "ERROR_RESPONSES",
    "EXAMPLE_HOUR",
    "JSON_NUMBER",
    "BikeSharingInput",
    "ErrorBody",
    "PredictionOutput",
    "ValidationErrorBody",
    "ValidationProblem",
    "field_name",
]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def field_name(loc: Sequence[int | str]) -> str:
    """("data", 3, "cnt") -> "data[3].cnt": names the record and the field in one string."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _number(value: Any) -> Any:
    # Lax pydantic would turn "0.5" and true into numbers; a client sending them has a bug.
    if isinstance(value, bool | str):
        raise ValueError(f"must be a JSON number, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _iso_date(value: str) -> str:
    if not _DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a real calendar date YYYY-MM-DD") from None
    return value


# Numbers as JSON numbers only (no "3" strings, no booleans); integral floats pass for ints.
JSON_NUMBER = BeforeValidator(_number)
# UCI normalises these to [0, 1] (divided by their maximum); outside it is not UCI data.
# Integer fields take integral floats (3.0), as lax pydantic allows; 3.5 fails "not an integer".
Ratio = Annotated[float, Field(ge=0.0, le=1.0), JSON_NUMBER]


# A valid February 2011 morning: the OpenAPI example, and the body tests and benchmarks send
# when the answer is not the point.
EXAMPLE_HOUR: JsonDict = {
    "dteday": "2011-02-14",
    "temp": 0.22,
    "atemp": 0.2273,
    "hum": 0.55,
    "windspeed": 0.2836,
    "mnth": 2,
    "hr": 8,
    "weekday": 1,
    "season": 1,
    "holiday": 0,
    "workingday": 1,
    "weathersit": 1,
}


class BikeSharingInput(BaseModel):
    """One hour of UCI features, as the exam's client sends them to /predict."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_HOUR]})

    dteday: Annotated[
        str,
        AfterValidator(_iso_date),
        Field(
            description="date, YYYY-MM-DD",
            json_schema_extra={"format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        ),
    ]
    temp: Annotated[Ratio, Field(description="normalised temperature (t / 41 C)")]
    atemp: Annotated[Ratio, Field(description="normalised feeling temperature (t / 50 C)")]
    hum: Annotated[Ratio, Field(description="normalised humidity (h / 100)")]
    windspeed: Annotated[Ratio, Field(description="normalised wind speed (w / 67)")]
    mnth: Annotated[int, Field(ge=1, le=12, description="month, 1-12"), JSON_NUMBER]
    hr: Annotated[int, Field(ge=0, le=23, description="hour of the day, 0-23"), JSON_NUMBER]
    weekday: Annotated[
        int, Field(ge=0, le=6, description="day of the week, 0 = Sunday"), JSON_NUMBER
    ]
    season: Annotated[
        int, Field(ge=1, le=4, description="1 winter, 2 spring, 3 summer, 4 fall"), JSON_NUMBER
    ]
    holiday: Annotated[int, Field(ge=0, le=1, description="1 on a public holiday"), JSON_NUMBER]
    workingday: Annotated[
        int,
        Field(ge=0, le=1, description="1 on a working day (neither weekend nor holiday)"),
        JSON_NUMBER,
    ]
    weathersit: Annotated[
        int, Field(ge=1, le=4, description="1 clear ... 4 heavy rain, snow"), JSON_NUMBER
    ]

    def features(self) -> tuple[float, ...]:
        """The 11 model inputs in FEATURES order."""
        return (
            self.temp,
            self.atemp,
            self.hum,
            self.windspeed,
            self.mnth,
            self.hr,
            self.weekday,
            self.season,
            self.holiday,
            self.workingday,
            self.weathersit,
        )


class PredictionOutput(BaseModel):
    """Predicted rentals for the hour described by the input."""

    predicted_count: float


class ErrorBody(BaseModel):
    """Every error answer but 422: what went wrong and what to do, in one sentence."""

    detail: str


class ValidationProblem(BaseModel):
    """One field that broke its rule."""

    field: str = Field(description="the field below the body: `temp`, `data[3].cnt`")
    loc: list[str] = Field(description="the full path, starting with `body`")
    rule: str = Field(description="the rule broken: `less_than_equal`, `missing`, ...")
    msg: str


class ValidationErrorBody(BaseModel):
    """A 422: each bad field with the rule it broke, and the same as one line."""

    detail: list[ValidationProblem]
    message: str


# Answers any request with a body may get before its handler decides anything.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "the body is not readable as JSON text, or the Host is not in ALLOWED_HOSTS",
    },
    408: {"model": ErrorBody, "description": "the body did not arrive in time"},
    413: {"model": ErrorBody, "description": "the body is larger than MAX_BODY_BYTES"},
    422: {"model": ValidationErrorBody, "description": "a field breaks its rule: each is named"},
}
