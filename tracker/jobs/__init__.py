"""Background work and the command line: the worker, one pass of it, the ``tracker`` commands."""
