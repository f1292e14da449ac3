"""Command-line clients of a running bike-api: evaluation weeks, traffic, alert drills."""
