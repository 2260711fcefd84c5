"""What a learner touches besides the terminal: notebook helpers, hints, progress."""
