"""gunicorn settings of the bench's servers: a worker prints the stacks of all its threads
to stderr on SIGPWR (bench/load.py asks for them when requests time out, as evidence of
where the workers were stuck). Nothing else differs from the command line's defaults."""
import faulthandler
import signal
import sys


def post_fork(server, worker):
    faulthandler.register(signal.SIGPWR, file=sys.stderr, all_threads=True)
