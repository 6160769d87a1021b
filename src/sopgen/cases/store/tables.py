"""The case store: cases, step completions and calendar state, through SQLAlchemy 2.

    alembic_version    the schema revision (Alembic; see `sopgen.cases.store.migrate`)
    sopgen_meta        key → value (`schema_version` = 3 only keeps sopgen 0.1 out;
                       `installation_id`: this store's random id, in every calendar UID;
                       `secret_key_check`: which secret key feed links are derived from)
    sop_snapshots      digest → the SOP file's YAML text a case was planned from
    cases              id, SOP id + version + snapshot, received, assignee, summary,
                       when and why it was cancelled
    completions        (case, step) → when it was done
    step_history       every tick and reopen of a step: when it was done, when recorded,
                       by whom and through what (kept when a step is reopened)
    case_holds         when a case was put on hold and resumed, and why
    case_priorities    the priorities a case was given, each from when
    reminders          e-mails of `sopgen remind`: what, to whom, when, and whether sent
    calendar_events    (case, step) → SEQUENCE, what the event showed, when it changed
    case_notes         notes people wrote on a case (the desk)
    users              people of the desk: login, role, Argon2id password hash, token hashes,
                       the feed link's generation
    desk_sessions      signed-in browsers: a session token's hash, its CSRF token, expiry
    sign_in_failures   failed sign-ins per login, to slow down guessing

The database itself (where it is, how it is opened, its transactions) is
`sopgen.cases.store.database`, which imports no ORM; its names are importable from
here too. The models below must match the newest Alembic revision, which a
test checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    insert,
    inspect,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from sopgen.cases.store.database import BUSY_TIMEOUT_S as BUSY_TIMEOUT_S
from sopgen.cases.store.database import Store as Store
from sopgen.cases.store.database import UTCDateTime
from sopgen.cases.store.database import database_url as database_url
from sopgen.cases.store.revision import BASELINE as BASELINE
from sopgen.cases.store.revision import DEFAULT_PATH as DEFAULT_PATH
from sopgen.cases.store.revision import ENV_URL as ENV_URL
from sopgen.cases.store.revision import SCHEMA_HEAD as SCHEMA_HEAD


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "sopgen_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class SopSnapshot(Base):
    """The exact SOP text cases were planned from; shared by every case opened under it."""

    __tablename__ = "sop_snapshots"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of `text`
    sop_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    file: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseRecord(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    folder: Mapped[str] = mapped_column(String(64), unique=True)  # id.lower(): one folder per case
    sop_id: Mapped[str] = mapped_column(String(100))
    sop_version: Mapped[str] = mapped_column(String(50))
    snapshot: Mapped[str] = mapped_column(ForeignKey("sop_snapshots.digest"))
    received: Mapped[datetime] = mapped_column(UTCDateTime)
    assignee: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # all done, or cancelled
    # the deadline of the open step due first (None when closed, or not yet computed for a
    # case opened before revision 0006): lets `case list` sort and page in the database
    next_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # a case from before installation ids: its events keep their first UIDs
    legacy_uids: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # imported as history (0013): no reminders for steps already overdue when it came in
    as_history: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    completions: Mapped[list[Completion]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Completion.step"
    )
    events: Mapped[list[EventState]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="EventState.step"
    )
    holds: Mapped[list[CaseHold]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseHold.held_at"
    )
    priorities: Mapped[list[CasePriority]] = relationship(
        back_populates="case",
        cascade="all, delete-orphan",
        order_by="CasePriority.id",
    )
    # read only where a case is shown or changed (`CaseService._record`): lists never load it
    history: Mapped[list[StepHistory]] = relationship(
        back_populates="case",
        cascade="all, delete-orphan",
        order_by="StepHistory.id",
        lazy="raise",
    )

    __table_args__ = (
        # the list of closed cases; of closed ones only, so that no query for open cases
        # takes it for a few rows and sorts them all (0010)
        Index(
            "ix_cases_closed",
            "closed_at",
            postgresql_where=text("closed_at IS NOT NULL"),
            sqlite_where=text("closed_at IS NOT NULL"),
        ),
        # every list of open cases reads this in order and stops after its page (0010)
        Index(
            "ix_cases_open_next_due",
            "next_due",
            "id",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
        Index("ix_cases_assignee", "assignee"),
        # a user's open cases in deadline order, and their count (My work; 0015)
        Index(
            "ix_cases_open_assignee",
            "assignee",
            "next_due",
            "id",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
    )

    def done(self) -> dict[str, datetime]:
        return {c.step: c.done_at for c in self.completions}


class Completion(Base):
    __tablename__ = "completions"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(200), primary_key=True)  # section.step
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    case: Mapped[CaseRecord] = relationship(back_populates="completions")


class StepHistory(Base):
    """One tick (`done`) or reopen of a step, in the order they were recorded (revision
    0012). A reopen deletes the step's `Completion` but never a row here: the rows of a
    case are its audit trail, and the dating rule of holds reads the latest completion
    time they hold (`CaseService._after_completions`)."""

    __tablename__ = "step_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    step: Mapped[str] = mapped_column(String(200))  # section.step
    action: Mapped[str] = mapped_column(String(16))  # done | reopen
    # done: the completion time given; reopen: the completion time the reopen removed
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the command ran
    actor: Mapped[str | None] = mapped_column(String(200))  # desk login, or the CLI's OS user
    via: Mapped[str | None] = mapped_column(String(16))  # cli | desk | api | upgrade

    case: Mapped[CaseRecord] = relationship(back_populates="history")


class CaseHold(Base):
    """A hold of a case (waiting on the customer): the case's clock stopped from
    `held_at` until `resumed_at` (None while it runs). Kept after the resume: the
    rows of a case are its hold history."""

    __tablename__ = "case_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when `case hold` ran
    resume_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[CaseRecord] = relationship(back_populates="holds")


class CasePriority(Base):
    """A priority a case was given, from `since` on; the rows of a case are its history."""

    __tablename__ = "case_priorities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    priority: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    case: Mapped[CaseRecord] = relationship(back_populates="priorities")


class EventState(Base):
    """What a step's calendar event last showed, and its SEQUENCE (RFC 5545 3.8.7.4)."""

    __tablename__ = "calendar_events"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(200), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str] = mapped_column(String(200))  # due + done, in UTC
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime)

    case: Mapped[CaseRecord] = relationship(back_populates="events")

    # a case's SEQUENCE sum (a feed's ETag) from the index alone (revision 0011)
    __table_args__ = (Index("ix_calendar_events_sequence", "case_id", "sequence"),)


class CaseNote(Base):
    """A note someone wrote on a case (the desk's case page)."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)


class Reminder(Base):
    """One e-mail `sopgen remind` sends, exactly once: `key` says what it is about.

    pending → claimed (by one worker, until `claimed_until`) → sent; or
    cancelled when it no longer applies (step done, reassigned, case closed or
    on hold, deadline moved). A claim whose worker died expires and the
    reminder is claimed again: retried, not lost.
    """

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(700), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # before | overdue | digest
    case_id: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(320))
    label: Mapped[str] = mapped_column(String(100))  # e.g. "1 business day" before the deadline
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))  # pending | claimed | sent | cancelled
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_reminders_state_send_at", "state", "send_at"),)


class UserRecord(Base):
    """A person who uses the desk. Passwords and tokens are kept only as hashes."""

    __tablename__ = "users"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)  # lower case
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # rep | manager | admin
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(200))  # Argon2id, PHC string
    disabled: Mapped[bool] = mapped_column(default=False)
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # the feed token is derived from the secret key, the login and this
    # (sopgen.cases.service.secretkey)
    feed_generation: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeskSession(Base):
    """A signed-in browser: the cookie holds the token, the store only its SHA-256."""

    __tablename__ = "desk_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(ForeignKey("users.login"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignInFailure(Base):
    """Failed sign-ins for one login (known or not), to slow down password guessing."""

    __tablename__ = "sign_in_failures"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignatureRecordRow(Base):
    """One electronic signature record (`sopgen.signatures`), its line exactly as signed.

    Append-only: sopgen never updates or deletes a row (a correction is a new
    record). `(sop, seq)` is unique, so two signers at once cannot fork an
    SOP's hash chain: the second insert fails and is retried on the new head.
    """

    __tablename__ = "signature_records"
    __table_args__ = (UniqueConstraint("sop", "seq", name="uq_signature_records_sop_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sop: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    line: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignatureRefusal(Base):
    """A refused signing: wrong password, unknown or disabled login, too many failures."""

    __tablename__ = "signature_refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64))
    sop: Mapped[str] = mapped_column(String(64))
    meaning: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    why: Mapped[str] = mapped_column(String(200))


def insert_missing(session: Session, model: type[Base], values: dict[str, Any]) -> None:
    """INSERT a row unless one with its primary key exists (committed or not), atomically.

    Two PostgreSQL sessions adding the same row at once both succeed: the second
    waits for the first and then does nothing (SQLite serialises writers anyway).
    """
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(model).values(**values).on_conflict_do_nothing())
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(model).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - another database: check first, as before
        key = tuple(values[c.name] for c in inspect(model).primary_key)
        if session.get(model, key) is None:
            session.execute(insert(model).values(**values))
