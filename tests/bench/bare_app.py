"""The benchmark's baseline: a bare FastAPI app taking /predict's body and returning a constant."""

from __future__ import annotations

from fastapi import FastAPI

from api.schemas import BikeSharingInput, PredictionOutput

app = FastAPI()


@app.post("/predict")
async def predict(body: BikeSharingInput) -> PredictionOutput:
    return PredictionOutput(predicted_count=0.0)
