"""Confine a worker: isolation tiers A/B/C, rlimits, Landlock and seccomp; uses no other wing."""
