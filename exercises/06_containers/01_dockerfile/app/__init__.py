"""The penguin species API (course-owned: the exercise is its Dockerfile, not this code)."""
