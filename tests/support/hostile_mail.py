"""Hostile and odd e-mails, built as bytes: what careless, old or malicious mail software
sends. Each has a distinctive phrase (its `words`) that must reach the agent."""

from __future__ import annotations

import base64
import quopri
from dataclasses import dataclass

CRLF = b"\r\n"


@dataclass(frozen=True, slots=True)
class Hostile:
    name: str
    raw: bytes
    words: str  # the customer's words: must be in the stored text


def message(headers: list[tuple[str, bytes | str]], body: bytes | str, eol: bytes = CRLF) -> bytes:
    """A message written line by line, exactly as given (nothing is encoded or fixed)."""
    lines = [
        name.encode() + b": " + (value.encode() if isinstance(value, str) else value)
        for name, value in headers
    ]
    data = body.encode() if isinstance(body, str) else body
    return eol.join([*lines, b"", *data.split(b"\n")])


def simple(name: str, words: str, *extra: tuple[str, bytes | str], sender: str = "") -> Hostile:
    """A plain-text mail whose headers are `extra` (plus a From unless given)."""
    has_from = any(n.lower() == "from" for n, _ in extra)
    headers = list(extra) if has_from else [("From", sender or "Ali <ali@customer.test>"), *extra]
    headers += [("Subject", f"case {name}"), ("Message-ID", f"<{name}@hostile.test>")]
    return Hostile(name, message(headers, words), words)


def mime(
    name: str,
    content_type: str,
    body: bytes | str,
    words: str,
    *extra: tuple[str, bytes | str],
) -> Hostile:
    headers: list[tuple[str, bytes | str]] = [
        ("From", "Sara <sara@customer.test>"),
        ("Subject", f"case {name}"),
        ("Message-ID", f"<{name}@hostile.test>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", content_type),
        *extra,
    ]
    return Hostile(name, message(headers, body), words)


def _nested(depth: int, words: str) -> str:
    opening = "".join(
        f'--b{i}\nContent-Type: multipart/mixed; boundary="b{i + 1}"\n\n' for i in range(depth)
    )
    closing = "".join(f"--b{i}--\n" for i in reversed(range(depth + 1)))
    return f"{opening}--b{depth}\nContent-Type: text/plain\n\n{words}\n{closing}"


def _forwards(depth: int, words: str) -> bytes:
    inner = f"From: deep@customer.test\nSubject: level {depth}\n\n{words}\n"
    for level in reversed(range(depth)):
        inner = (
            f"From: l{level}@customer.test\nSubject: level {level}\nMIME-Version: 1.0\n"
            f'Content-Type: multipart/mixed; boundary="f{level}"\n\n'
            f"--f{level}\nContent-Type: text/plain\n\nforwarding level {level}\n"
            f"--f{level}\nContent-Type: message/rfc822\n\n{inner}\n--f{level}--\n"
        )
    return inner.encode()


_TNEF = b"\x78\x9f\x3e\x22" + b"\x01\x06\x90\x08\x00\x04\x00\x00\x00\x00\x00\x01\x00" * 20
_UU_TEXT = b"the invoice number is 884213\n"


def _uuencoded(data: bytes) -> str:
    lines = [
        base64.binascii.b2a_uu(data[i : i + 45]).decode()  # type: ignore[attr-defined]
        for i in range(0, len(data), 45)
    ]
    return "".join(lines)


_HTML = (
    "<html><head><style>p{color:red}</style><script>alert('x')</script></head><body>"
    "<p>Please refund order 884213</p><img src='https://track.example/p.gif?u=1' width=1 "
    "height=1><a href=\"javascript:alert('pwned')\">click</a> "
    "<a href='https://shop.test/order/884213'>my order</a>"
    "<script>document.cookie</script><div onclick='steal()'>thanks</div></body></html>"
)


def messages() -> list[Hostile]:
    half = "نرسیده".encode()
    split_subject = (
        "=?UTF-8?B?"
        + base64.b64encode(half[:5]).decode()
        + "?= =?UTF-8?B?"
        + base64.b64encode(half[5:]).decode()
        + "?="
    )
    return [
        Hostile(
            "no-from",
            message(
                [("To", "support@shop.test"), ("Subject", "no from")],
                "I have no From header at all",
            ),
            "I have no From header at all",
        ),
        simple("empty-from", "My From header is empty", ("From", "")),
        simple(
            "group-from", "Sent to undisclosed recipients", ("From", "undisclosed-recipients:;")
        ),
        simple(
            "multiple-from",
            "Two of us wrote this",
            ("From", "Ali <ali@customer.test>, Reza <reza@customer.test>"),
        ),
        simple("name-only-from", "Only my name is in From", ("From", "Maryam Ahmadi")),
        simple(
            "idn-from",
            "My domain has an umlaut",
            ("From", "Jürgen <juergen@bücher.example>".encode()),
        ),
        simple(
            "smtputf8-from",
            "My address itself is Persian",
            ("From", "علی <علی@مثال.ایران>".encode()),
        ),
        Hostile(
            "cp1256-headers",
            message(
                [
                    ("From", "مريم ".encode("cp1256") + b"<maryam@customer.test>"),
                    ("Subject", "سفارش من نرسيد".encode("cp1256")),
                    ("Message-ID", "<cp1256-headers@hostile.test>"),
                    ("Content-Type", "text/plain; charset=windows-1256"),
                ],
                "سفارش 884213 هنوز نرسيده".encode("cp1256"),
            ),
            "سفارش 884213 هنوز نرسيده",
        ),
        Hostile(
            "koi8r-headers",
            message(
                [
                    ("From", "Иван ".encode("koi8-r") + b"<ivan@customer.test>"),
                    ("Subject", "Где мой заказ".encode("koi8-r")),
                    ("Message-ID", "<koi8r-headers@hostile.test>"),
                ],
                "Заказ не пришёл, помогите".encode("koi8-r"),
            ),
            "Заказ не пришёл, помогите",
        ),
        mime(
            "unknown-charset",
            'text/plain; charset="x-unknown"',
            "Le colis n’est pas arrivé".encode(),
            "Le colis n’est pas arrivé",
        ),
        mime(
            "utf8mb4-charset",
            "text/plain; charset=utf8mb4",
            "Emoji order 🎁 missing".encode(),
            "Emoji order 🎁 missing",
        ),
        mime(
            "no-boundary",
            "multipart/mixed",
            "--xyz\nContent-Type: text/plain\n\nMy words without a boundary\n--xyz--\n",
            "My words without a boundary",
        ),
        mime(
            "unclosed-boundary",
            'multipart/mixed; boundary="open"',
            "--open\nContent-Type: text/plain\n\nThe boundary never closes\n"
            "--open\nContent-Type: application/pdf; name=a.pdf\n"
            "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n",
            "The boundary never closes",
        ),
        mime(
            "bad-base64",
            "text/plain; charset=utf-8",
            base64.b64encode(b"Base64 with junk in it, please help").decode()[:-2] + "!!*\n===\n",
            "Base64 with junk in it",
            ("Content-Transfer-Encoding", "base64"),
        ),
        mime(
            "broken-qp",
            "text/plain; charset=utf-8",
            "Quoted-printable soft =\nbreaks are bro=ken =E2=80=94 still readable=\n=",
            "Quoted-printable soft breaks are bro",
            ("Content-Transfer-Encoding", "quoted-printable"),
        ),
        mime(
            "nested-100",
            'multipart/mixed; boundary="b0"',
            _nested(100, "Deep inside a hundred parts"),
            "Deep inside a hundred parts",
        ),
        Hostile(
            "nested-forwards",
            _forwards(30, "The original question, thirty forwards down"),
            "forwarding level 0",
        ),
        Hostile(
            "huge-headers",
            message(
                [
                    ("From", "Omid <omid@customer.test>"),
                    ("Subject", "x" * 100_000),
                    ("X-Junk", "y" * 1_000_000),
                    ("Message-ID", "<huge-headers@hostile.test>"),
                ],
                "Short words under huge headers",
            ),
            "Short words under huge headers",
        ),
        mime(
            "tnef",
            'multipart/mixed; boundary="t"',
            b"--t\nContent-Type: text/plain\n\nSee the attached Outlook file\n--t\n"
            b"Content-Type: application/ms-tnef; name=winmail.dat\n"
            b"Content-Transfer-Encoding: base64\n"
            b"Content-Disposition: attachment; filename=winmail.dat\n\n"
            + base64.encodebytes(_TNEF)
            + b"--t--\n",
            "See the attached Outlook file",
        ),
        mime(
            "smime-signed",
            'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; '
            'boundary="s"',
            "--s\nContent-Type: text/plain; charset=utf-8\n\nSigned words from a bank\n--s\n"
            "Content-Type: application/pkcs7-signature; name=smime.p7s\n"
            "Content-Transfer-Encoding: base64\n"
            "Content-Disposition: attachment; filename=smime.p7s\n\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n"
            "--s--\n",
            "Signed words from a bank",
        ),
        mime(
            "smime-encrypted",
            'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
            "MIAGCSqGSIb3DQEHA6CAMIACAQAxggFAMIIBPAIBADAkMBYxFDASBgNVBAMTC2V4YW1wbGUuY29t\n",
            "",
            ("Content-Transfer-Encoding", "base64"),
            ("Content-Disposition", 'attachment; filename="smime.p7m"'),
        ),
        Hostile(
            "dsn",
            message(
                [
                    ("From", "Mail Delivery System <MAILER-DAEMON@mx.shop.test>"),
                    ("Subject", "Undelivered Mail Returned to Sender"),
                    ("Message-ID", "<dsn@hostile.test>"),
                    ("MIME-Version", "1.0"),
                    (
                        "Content-Type",
                        'multipart/report; report-type=delivery-status; boundary="r"',
                    ),
                ],
                "--r\nContent-Type: text/plain\n\nThis is the mail system: delivery failed\n"
                "--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.shop.test\n"
                "\nFinal-Recipient: rfc822; gone@customer.test\nAction: failed\nStatus: 5.1.1\n"
                "--r\nContent-Type: message/rfc822\n\nFrom: support@shop.test\n"
                "Subject: Your order\n\nOur reply that bounced\n--r--\n",
            ),
            "delivery failed",
        ),
        mime(
            "calendar",
            'multipart/alternative; boundary="c"',
            "--c\nContent-Type: text/plain\n\nMeeting about the refund\n--c\n"
            "Content-Type: text/calendar; method=REQUEST; charset=utf-8\n\n"
            "BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nSUMMARY:Refund call\n"
            "DTSTART:20261201T100000Z\nEND:VEVENT\nEND:VCALENDAR\n--c--\n",
            "Meeting about the refund",
        ),
        mime(
            "uuencoded",
            "text/plain",
            "Here is the file you asked for\n\nbegin 644 invoice.txt\n"
            + _uuencoded(_UU_TEXT)
            + "`\nend\n",
            "Here is the file you asked for",
        ),
        mime(
            "attachment-only",
            "application/pdf; name=receipt.pdf",
            base64.encodebytes(b"%PDF-1.4 receipt"),
            "",
            ("Content-Transfer-Encoding", "base64"),
            ("Content-Disposition", "attachment; filename=receipt.pdf"),
        ),
        mime(
            "html-hostile",
            "text/html; charset=utf-8",
            _HTML,
            "Please refund order 884213",
        ),
        simple("no-date", "There is no date on this"),
        simple("bad-date", "The date is nonsense", ("Date", "yesterday-ish, 99 Foo 20xx")),
        simple("future-date", "Sent from the future", ("Date", "Fri, 31 Dec 9999 23:59:59 -1200")),
        simple(
            "far-future-date", "Sent a century ahead", ("Date", "Mon, 1 Jan 2124 10:00:00 +0000")
        ),
        Hostile(
            "no-message-id-a",
            message([("From", "kaveh@customer.test"), ("Subject", "hi")], "First without an id"),
            "First without an id",
        ),
        Hostile(
            "no-message-id-b",
            message([("From", "kaveh@customer.test"), ("Subject", "hi")], "Second without an id"),
            "Second without an id",
        ),
        Hostile(
            "split-encoded-word",
            message(
                [
                    ("From", "Leila <leila@customer.test>"),
                    ("Subject", split_subject),
                    ("Message-ID", "<split-encoded-word@hostile.test>"),
                ],
                "My subject was split mid-letter",
            ),
            "My subject was split mid-letter",
        ),
        Hostile(
            "lf-only",
            message(
                [("From", "lf@customer.test"), ("Message-ID", "<lf-only@hostile.test>")],
                "Line one with LF\nline two with LF",
                eol=b"\n",
            ),
            "Line one with LF\nline two with LF",
        ),
        Hostile(
            "bare-cr",
            message(
                [("From", "cr@customer.test"), ("Message-ID", "<bare-cr@hostile.test>")],
                "Old Mac line one\nold Mac line two",
                eol=b"\r",
            ),
            "Old Mac line one\nold Mac line two",
        ),
        Hostile(
            "mixed-eol",
            b"From: mixed@customer.test\r\nMessage-ID: <mixed-eol@hostile.test>\n"
            b"Subject: mixed\r\n\nCRLF line\r\nLF line\nCR line\rend",
            "CRLF line\nLF line\nCR line\nend",
        ),
        mime(
            "qp-raw",
            "text/plain; charset=utf-8",
            quopri.encodestring("Plain QP, nothing broken: é".encode()).decode(),
            "Plain QP, nothing broken: é",
            ("Content-Transfer-Encoding", "quoted-printable"),
        ),
    ]


BY_NAME = {h.name: h for h in messages()}
