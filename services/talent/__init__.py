"""人才 talent credentials: skill certificates, titles and continuing education."""
