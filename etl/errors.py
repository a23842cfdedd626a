"""Errors that end a command, each with the exit code cron sees (documented in `etl --help`)."""
from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 1  # bad option, bad config, unreadable or malformed input: nothing was done
EXIT_PARTIAL = 2  # finished, but some rows were quarantined (see the run report)
EXIT_SINK = 3  # the graph store failed or could not be reached, or an output file could not be written mid-run
EXIT_INTERNAL = 4  # unexpected error (a bug): rerun with -v for the traceback
EXIT_LOCKED = 5  # another `etl run` holds the lock on this store
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGINT

EXIT_CODES_HELP = f"""\b
Exit codes:
  {EXIT_OK}    ok
  {EXIT_USAGE}    usage, configuration or input error (nothing written)
  {EXIT_PARTIAL}    partial: finished, but some rows were quarantined
  {EXIT_SINK}    graph store or output failure (store unreachable or write failed; a
       report, quarantine or triples file could not be written; with --engine ray,
       the model actors kept dying): a re-run resumes
  {EXIT_INTERNAL}    internal error (rerun with -v for the traceback)
  {EXIT_LOCKED}    another run holds the lock on this store
  {EXIT_INTERRUPTED}  interrupted"""


class EtlError(Exception):
    """Base class: an expected failure with a message for the user and an exit code."""

    exit_code = EXIT_USAGE


class ConfigError(EtlError, ValueError):
    """A setting is unknown, of the wrong type or out of range; the message names the key."""


class DataError(EtlError, ValueError):
    """An input file or line cannot be read; the message names the file (and line)."""


class SinkError(EtlError):
    """The graph store failed."""

    exit_code = EXIT_SINK


class ClusterError(EtlError):
    """`--engine ray`: the model actors died more often than a run retries; what was written stays
    (a rerun skips it and resumes)."""

    exit_code = EXIT_SINK


class OutputError(EtlError):
    """A file etl writes during a run (quarantine, report, triples) could not be written; the
    message names the setting or option that chose its place."""

    exit_code = EXIT_SINK


class StoreMissingError(EtlError):
    """A read-only command named an embedded store that does not exist (a mistyped data folder
    must not answer with a new, empty graph): exit 1, the message names the folder and setting."""


class StoreDamagedError(EtlError):
    """The embedded store's files say it held a graph that it would not load (a deleted
    append-only manifest): opening it would start an empty graph, and the next run would write
    every document again. Exit 1: the operator restores what is named."""


class LockedError(EtlError):
    """Another run holds the lock."""

    exit_code = EXIT_LOCKED


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the run is closed as failed, the report written (exit 130)."""
