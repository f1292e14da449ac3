"""Model evaluation: Evidently reports (regression quality, data drift) and the drift monitor."""
