"""Operator commands: ``flask --app wsgi create-admin EMAIL --password …``."""

from __future__ import annotations

import click
from flask import Flask

from api.deps import ctx
from domain.errors import DomainError
from domain.services import accounts


def register(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.argument("email")
    @click.password_option("--password", help="at least 10 characters")
    def create_admin(email: str, password: str) -> None:
        """Create an administrator account."""
        try:
            user = accounts.create_admin(ctx(), email, password)
        except DomainError as error:
            fields = ", ".join(error.details)
            message = f"{fields}: {error.message}" if fields else error.message
            raise click.ClickException(message) from None
        click.echo(f"admin {user.email} created with id {user.id}")
