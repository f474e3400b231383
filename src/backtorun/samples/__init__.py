"""Shipped samples: derived demo keypoints (see ATTRIBUTION.md), sample intake, tests and training log."""
