"""The alerting and recording rules of bikewatch, as code: see `dsl`, the areas and `compiler`."""
