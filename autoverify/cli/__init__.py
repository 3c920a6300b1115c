"""Command-line entry points (`autoverify`, `audit-letters`)."""
