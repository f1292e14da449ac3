"""bikewatch's build side: shared PromQL helpers, config, and the `generated/` compiler."""
