"""The email Amazon SES has sent: moto keeps every message instead of delivering it, so you can read what a function
sent (a welcome email, an address verification) as a table.

    aws.client("ses").verify_email_identity(EmailAddress="noreply@example.com")   # SES sends only from verified
    ...                                                                            # identities, moto too
    mail.sent()        # [{"to": "...", "subject": "...", "body": "...", "from": "..."}], oldest first
    mail.show()        # the same as an HTML table in Jupyter

Real SES delivers mail and keeps no copy you can list: on AWS, read the recipient's mailbox (or use the SES mailbox
simulator addresses such as success@simulator.amazonses.com).
"""
from __future__ import annotations

from . import aws


def sent(to: str | None = None) -> list[dict]:
    """Every email sent through SES on the moto backend, oldest first (only those to ``to`` if given)."""
    backend = aws.backend()
    if not backend.in_process:
        raise RuntimeError(f"mail.sent() reads moto's own record of sent email, which only the in-process moto "
                           f"backend has (this is {backend.name}). On AWS, check the recipient's mailbox.")
    from moto.ses.models import ses_backends

    messages = ses_backends[backend.account_id][backend.region].sent_messages
    out = []
    for message in messages:
        recipients = [a for kind in ("ToAddresses", "CcAddresses", "BccAddresses")
                      for a in (getattr(message, "destinations", None) or {}).get(kind, [])]
        if to is None or to in recipients:
            out.append({"to": ", ".join(recipients), "subject": getattr(message, "subject", ""),
                        "body": getattr(message, "body", getattr(message, "raw_data", "")),
                        "from": getattr(message, "source", "")})
    return out


def clear() -> None:
    """Forget the email sent so far (moto backend only; ``audit_pipeline.build`` does it so each run starts empty)."""
    backend = aws.backend()
    if backend.in_process:
        from moto.ses.models import ses_backends

        ses_backends[backend.account_id][backend.region].sent_messages.clear()


def show(to: str | None = None, body_chars: int = 80):
    """``sent()`` as an HTML table (bodies cut to ``body_chars``)."""
    import html

    from IPython.display import HTML

    rows = sent(to)
    if not rows:
        return HTML("<p><em>No email sent.</em></p>")
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            n, row["to"], row["subject"], row["body"][:body_chars] + ("…" if len(row["body"]) > body_chars else "")))
        + "</tr>" for n, row in enumerate(rows, 1))
    return HTML("<table><tr><th>#</th><th>to</th><th>subject</th><th>body</th></tr>" + cells + "</table>")
