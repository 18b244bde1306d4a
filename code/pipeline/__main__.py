import sys

from . import commands

# Before the heavy imports: a SIGTERM or Ctrl-C at any moment is handled, never a traceback.
commands.handle_termination()

from .cli import main  # noqa: E402

sys.exit(main())
