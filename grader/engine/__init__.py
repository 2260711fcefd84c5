"""Grade one submission: manifests, course, runner, pytest plugin, worker proxy, results."""
