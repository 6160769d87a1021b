"""The desk's Documents area: each SOP's version, signatures and what it awaits; signing.

`/documents` lists the SOPs; `/documents/SOP-ID` shows the redline of the SOP's
current text against its previous version in git (the one before the version
in the file), the signature records of the desk's store, and, under
`signatures: electronic`, a form to sign it: the meaning, and the password
entered again at the moment of signing (21 CFR 11.200). The page carries the
SHA-256 of the content the signer saw; the signing re-reads the SOP file and
refuses when the content changed since (the signer signs what they saw). The
records are made by `sopgen.desk.signing` as `sopgen sign` makes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sopgen import schema, signatures
from sopgen.cases.errors import NOT_FOUND, CaseError
from sopgen.desk.pages import Ctx, back, page, render
from sopgen.desk.signing import SignatureRefused, SigningService
from sopgen.gitrev import GitError, Repo
from sopgen.library import Entry, load_sop
from sopgen.model import Signed, Sop, make_sop
from sopgen.render.redline import RedlineView, redline_view
from sopgen.render.view import STATUS_LABELS
from sopgen.source import load_text

MAX_HISTORY = 500
"""How many commits back the page looks for the SOP's previous version."""


@dataclass(frozen=True)
class Current:
    """The SOP as its file says now (the desk's library is read at start only)."""

    entry: Entry
    sop: Sop
    content_sha256: str


def _current(ctx: Ctx, sop_id: str) -> Current:
    known = ctx.desk.library.entry(sop_id)
    if known is None:
        raise CaseError(f"no SOP {sop_id}", "the Documents page lists the SOPs", kind=NOT_FOUND)
    entry = load_sop(known.path, ctx.desk.root)
    if entry.sop is None or entry.sop.id != sop_id:
        raise CaseError(
            f"{known.file} cannot be read as {sop_id} now",
            "run sopgen validate on the repository and fix it first",
        )
    return Current(entry, entry.sop, signatures.content_sha256(entry.document.data))


def _signed(ctx: Ctx, sop_id: str, current: str) -> tuple[Signed, ...]:
    lines = SigningService(ctx.desk.store, ctx.desk.root).lines().get(sop_id, [])
    return signatures.signed_of((json.loads(line) for line in lines), current)


def _previous(root: Path, entry: Entry, version: str) -> tuple[str, Sop] | None:
    """The newest commit where the SOP's file had another version, and the SOP there."""
    repo = Repo(root)
    try:
        commits = repo.last_commit_touching(entry.file)[:MAX_HISTORY]
        for commit in commits:
            raw = repo.read(commit, entry.file)
            if raw is None:
                continue
            document = load_text(raw, entry.file)
            data = document.data
            if not isinstance(data, dict) or str(data.get("version")) == version:
                continue
            if document.problems or schema.validate(schema.SOP, data, document.source):
                return None
            return commit, make_sop(data, document.source, document.digest)
    except GitError:
        return None
    return None


@page
def documents_page(ctx: Ctx) -> Response:
    desk = ctx.desk
    config = desk.config
    service = SigningService(desk.store, desk.root)
    lines = service.lines()
    rows = []
    for entry in desk.library.entries:
        if entry.sop is None:
            continue
        sop = entry.sop
        current = signatures.content_sha256(entry.document.data)
        signed = signatures.signed_of((json.loads(line) for line in lines.get(sop.id, [])), current)
        given = sorted({s.meaning for s in signed if s.covers})
        awaits = [m for m in config.required_signatures if m not in given]
        rows.append(
            {
                "id": sop.id,
                "title": config.fill(sop.title),
                "version": sop.version,
                "status": STATUS_LABELS.get(sop.status, sop.status),
                "signed": ", ".join(given) or "—",
                "awaits": ", ".join(awaits) if config.signatures == "electronic" else "—",
            }
        )
    return render(
        ctx.request,
        "documents.html.j2",
        signed=ctx.signed,
        rows=rows,
        electronic=config.signatures == "electronic",
    )


def _document_view(
    ctx: Ctx, sop_id: str, status: int = 200, error: str | None = None, done: int | None = None
) -> Response:
    desk = ctx.desk
    config = desk.config
    now = _current(ctx, sop_id)
    previous = _previous(desk.root, now.entry, now.sop.version)
    redline: RedlineView | None = None
    if previous is not None:
        commit, old = previous
        redline = redline_view(old, now.sop, config, commit[:10], "html")
    signed = _signed(ctx, sop_id, now.content_sha256)
    return render(
        ctx.request,
        "document.html.j2",
        status,
        ctx.signed,
        sop={
            "id": now.sop.id,
            "title": config.fill(now.sop.title),
            "version": now.sop.version,
            "status": STATUS_LABELS.get(now.sop.status, now.sop.status),
        },
        content_sha256=now.content_sha256,
        redline=redline,
        signatures=[
            {"text": signatures.signed_text(s, config), "covers": s.covers, "seq": s.seq}
            for s in signed
        ],
        electronic=config.signatures == "electronic",
        meanings=config.signature_meanings,
        awaits=[
            m
            for m in config.required_signatures
            if m not in {s.meaning for s in signed if s.covers}
        ],
        error=error,
        done=done,
    )


@page
def document_page(ctx: Ctx) -> Response:
    done = ctx.request.query_params.get("signed")
    return _document_view(
        ctx, ctx.request.path_params["sop"], done=int(done) if done and done.isdigit() else None
    )


@page
def sign_document(ctx: Ctx) -> Response:
    desk = ctx.desk
    config = desk.config
    sop_id = ctx.request.path_params["sop"]
    if config.signatures != "electronic":
        return _document_view(
            ctx, sop_id, 409, "sopgen.yaml has signatures: typed: SOPs are signed by 'approvals:'."
        )
    meaning = ctx.field("meaning")
    if meaning not in config.signature_meanings:
        return _document_view(ctx, sop_id, 422, f"Choose what your signature means: {meaning!r}?")
    now = _current(ctx, sop_id)
    if ctx.field("content_sha256") != now.content_sha256:
        return _document_view(
            ctx,
            sop_id,
            409,
            "The SOP changed since you opened this page: nothing was signed. "
            "Read the changes below and sign again.",
        )
    password = str(ctx.form.get("password") or "") if ctx.form is not None else ""
    try:
        made = SigningService(desk.store, desk.root).sign(
            login=ctx.user.login,
            password=password,
            sop=sop_id,
            version=now.sop.version,
            content_hash=now.content_sha256,
            meaning=meaning,
            reason=ctx.field("reason") or None,
            now=ctx.now,
        )
    except SignatureRefused:
        return _document_view(
            ctx,
            sop_id,
            403,
            "That is not your password: nothing was signed (the refusal is recorded).",
        )
    return back(f"/documents/{sop_id}?signed={made.seq}#signatures")


routes: list[BaseRoute] = [
    Route("/documents", documents_page, methods=["GET"]),
    Route("/documents/{sop}", document_page, methods=["GET"]),
    Route("/documents/{sop}/sign", sign_document, methods=["POST"]),
]
