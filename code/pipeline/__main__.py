import sys

from . import outcomes, process
from .errors import EXIT_INTERRUPTED

# Before the heavy imports: a SIGTERM or Ctrl-C at any moment is handled, never a traceback.
process.handle_termination()
try:
    from .cli import main

    code = main()
except KeyboardInterrupt as stop:  # main() handles its own; this is one while starting up
    process.ignore_signals()
    print(f"\nerror: interrupted ({getattr(stop, 'signal_name', 'SIGINT')}) while starting; "
          "nothing was saved.", file=sys.stderr)
    code = getattr(stop, "exit_code", EXIT_INTERRUPTED)
outcomes.record_command(sys.argv[1:], code)  # for `workshop status`
sys.exit(code)
