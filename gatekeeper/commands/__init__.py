"""Subcommand handlers: each turns parsed arguments into a call and an exit code."""
