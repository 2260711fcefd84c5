"""An instructor's steps: release, collect, batch, gradebook, exports, nbgrader, Classroom."""
