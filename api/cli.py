"""Operator commands: ``flask --app wsgi <command>`` (docs/operations.md, "The operator's CLI").

In development they find the stack `make run` started by themselves: it writes the addresses it
chose to ``.data/stack.env`` and Settings reads them when the environment does not say."""

from __future__ import annotations

import getpass
import logging
import sys
import uuid
from datetime import datetime, timedelta

import click
import structlog
from flask import Flask
from flask.cli import with_appcontext

import celeryconfig
from adapters import operations
from adapters.mongo.client import ensure_indexes
from api.deps import broker, container, ctx
from domain.errors import DomainError
from domain.services import accounts
from domain.users import normalise_email

SWEEPS = sorted({str(entry["task"]) for entry in celeryconfig.beat_schedule.values()})
# These release escrowed money to sellers, cancel deals or post settlements: they only ever
# run as of now, as beat runs them (they do what is due, nothing earlier).
MONEY_SWEEPS = frozenset({"deals.auto_release", "deals.expire_unfunded",
                          "ledger.repair_settlements"})
NOW_SKEW = timedelta(seconds=60)  # how far ahead of this machine's clock --now may be
log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    for command in (create_admin, unlock_account, replay_callback, review_callback,
                    ensure_indexes_command, sweep):
        app.cli.add_command(command)


def _password(given: str | None, from_stdin: bool) -> str:
    """From stdin (scripts), from ``--password`` (discouraged: shell history, ``ps``), or asked
    for with the typing hidden, twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if given is not None:
        click.echo("warning: a password on the command line is visible to ps and kept in "
                   "your shell's history; prefer the prompt or --password-stdin", err=True)
        return given
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.option("--password", default=None, help="discouraged: prompted for when omitted")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin's first line")
def create_admin(email: str, password: str | None, password_stdin: bool) -> None:
    """Create an administrator account (at least 10 characters of password)."""
    try:
        user = accounts.create_admin(ctx(), email, _password(password, password_stdin))
    except DomainError as error:
        fields = ", ".join(error.details)
        message = f"{fields}: {error.message}" if fields else error.message
        raise click.ClickException(message) from None
    click.echo(f"admin {user.email} created with id {user.id}")


@click.command("unlock-account")
@with_appcontext
@click.argument("email")
def unlock_account(email: str) -> None:
    """Clear an account's failed sign-ins, so that a lockout ends now."""
    email = normalise_email(email)
    if container().login_attempts.clear(email):
        click.echo(f"{email} unlocked")
    else:
        click.echo(f"{email} was not locked")


@click.command("replay-callback")
@with_appcontext
@click.argument("callback_id")
def replay_callback(callback_id: str) -> None:
    """Process a flagged callback again (after a fix): back to received, then enqueued."""
    c = container()
    if operations.replay_callback(c.db, callback_id, c.ctx.clock.now()) is None:
        raise click.ClickException(f"no flagged or reviewed callback {callback_id}")
    if not broker().process_callback_within(callback_id, c.settings.redis_timeout_s):
        click.echo("the broker did not take it in time; the janitor will", err=True)
    click.echo(f"callback {callback_id} is received again and queued for processing")


@click.command("review-callback")
@with_appcontext
@click.argument("callback_id")
@click.option("--note", required=True, help="what was checked and decided")
def review_callback(callback_id: str, note: str) -> None:
    """Mark a flagged callback reviewed: off the flagged list, its verdict and the note kept."""
    c = container()
    if operations.review_callback(c.db, callback_id, note, c.ctx.clock.now()) is None:
        raise click.ClickException(f"no flagged callback {callback_id}")
    click.echo(f"callback {callback_id} marked reviewed")


@click.command("ensure-indexes")
@with_appcontext
def ensure_indexes_command() -> None:
    """Create every index the repositories declare (idempotent)."""
    ensure_indexes(container().db)
    click.echo("indexes ensured")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "unknown"


def _as_of(task: str, given: str, now: datetime, production: bool) -> str:
    """``--now`` as given, if allowed: never in production, never for a sweep that moves or
    cancels money, only an instant with a timezone and not ahead of ``now`` (beyond a skew)."""
    if production:
        raise click.UsageError("--now is refused in production: sweeps run as of now, as "
                               "beat runs them")
    if task in MONEY_SWEEPS:
        raise click.UsageError(f"{task} moves or cancels money: it runs as of now only "
                               "(what is due now), without --now")
    try:
        instant = datetime.fromisoformat(given)
    except ValueError:
        raise click.BadParameter(f"{given!r} is not an ISO 8601 instant",
                                 param_hint="'--now'") from None
    if instant.utcoffset() is None:
        raise click.BadParameter(f"{given!r} needs a timezone (2026-11-24T10:30:00+03:00, "
                                 "or Z for UTC)", param_hint="'--now'")
    if instant > now + NOW_SKEW:
        raise click.BadParameter(f"{given!r} is in the future (at most "
                                 f"{int(NOW_SKEW.total_seconds())}s ahead of now)",
                                 param_hint="'--now'")
    return given


@click.command("sweep")
@with_appcontext
@click.argument("task", type=click.Choice(SWEEPS))
@click.option("--now", default=None,
              help="run as of this earlier instant, with a timezone (not in production, not "
                   "for deals.auto_release, deals.expire_unfunded, ledger.repair_settlements)")
def sweep(task: str, now: str | None) -> None:
    """Enqueue one of beat's sweeps now, as beat would; a worker of its queue runs it. Its
    lines, and those of every task it enqueues, carry the request id printed. Who ran it is
    logged (``operator command``)."""
    c = container()
    request_id = f"cli-{uuid.uuid4().hex}"
    who = {"command": "sweep", "task": task, "now": now, "request_id": request_id,
           "os_user": _os_user()}
    if now is not None:
        try:
            _as_of(task, now, c.ctx.clock.now(), c.settings.is_production)
        except click.UsageError as refused:
            log.warning("operator command refused", extra={**who, "reason": refused.message})
            raise
    structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        log.info("operator command", extra=who)
        if not broker().send(task, **({"now": now} if now else {})):
            raise click.ClickException("the broker did not take the task; is Redis up?")
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    click.echo(f"{task} enqueued (request id {request_id})")
