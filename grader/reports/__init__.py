"""Result writers for one run: terminal, JSON, HTML, Gradescope results.json."""
