"""Write the CRM export files the preset tests import: ``python tests/data/crm/make_exports.py``.

Invented people only (example.com / example.org addresses, 555-01xx numbers), from one
seed, so the files are the same on every run. Column names and value spellings follow the
vendors' public documentation of a HubSpot contacts export and a Salesforce lead export (a
report exported as CSV, and a Data Loader export of the Lead object). Quirks on purpose: a
UTF-8 byte-order mark, CRLF line endings, `;` separators (a European spreadsheet), quoted
newlines and separators inside values, empty columns, trailing empty lines; and spellings
other engineers normalise (``Massachusetts``, ``Mass.``, ``Sleep Medicine``).
"""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
FIRST = [
    "Avery",
    "Jordan",
    "Riley",
    "Morgan",
    "Casey",
    "Quinn",
    "Rowan",
    "Sasha",
    "Emery",
    "Dana",
    "Jules",
    "Kai",
    "Noa",
    "Remy",
    "Skyler",
    "Tatum",
    "Linden",
    "Marlo",
]
LAST = [
    "Sample",
    "Example",
    "Fictive",
    "Testwell",
    "Placeholder",
    "Demo",
    "Mockford",
    "Invent",
    "Madeup",
    "Notreal",
]
PLACES = [
    ("MA", "02139", "617"),
    ("Massachusetts", "01608", "508"),
    ("Mass.", "02115", "617"),
    ("NH", "03801", "603"),
    ("New Hampshire", "03101", "603"),
    ("RI", "02903", "401"),
    ("Rhode Island", "02860", "401"),
]
LINES = [
    "cardiology",
    "dermatology",
    "orthopedics",
    "pulmonology",
    "sleep_medicine",
    "Sleep Medicine",
    "Cardiology",
]
NOTES = [
    "",
    "",
    "",
    "Prefers morning calls",
    "Asking for a parent,\nplease call after 5",
    'Said "call me back"; no voicemail',
]
START = datetime(2026, 1, 5, 8, 0)  # noqa: DTZ001 - wall-clock time, as the CRM writes it
# 555-0100..0199 are the fictional numbers: one area code per hundred rows keeps them unique.
AREAS = ["617", "508", "781", "978", "339", "857", "413", "774", "351", "603", "401"]


def _person(rng: random.Random, n: int) -> dict[str, str]:
    state, zip_code, _area = rng.choice(PLACES)
    area = AREAS[n // 100]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    domain = "example.com" if n % 2 else "example.org"
    return {
        "first": first,
        "last": last,
        "email": f"{first.lower()}.{last.lower()}.{n}@{domain}",
        "phone": f"({area}) 555-01{n % 100:02d}",
        "state": state,
        "zip": zip_code,
        "line": rng.choice(LINES),
        "note": rng.choice(NOTES),
        "created": START
        + timedelta(hours=7 * n + rng.randint(0, 5), minutes=rng.choice([0, 15, 30, 45])),
    }


def _write(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    *,
    sep: str = ",",
    bom: bool = True,
    crlf: bool = True,
    trailing: int = 2,
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue() + ("\r\n" if crlf else "\n") * trailing
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))


HUBSPOT = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone Number",
    "Company Name",
    "Job Title",
    "State/Region",
    "Postal Code",
    "Country/Region",
    "Service Line",
    "Original Source",
    "Original Source Drill-Down 1",
    "Original Source Drill-Down 2",
    "Lifecycle Stage",
    "Lead Status",
    "First Conversion",
    "Recent Conversion",
    "Contact owner",
    "Create Date",
    "Message",
    "Fax Number",
]
SOURCES = [
    "Organic search",
    "Paid search",
    "Email marketing",
    "Organic social",
    "Referrals",
    "Direct traffic",
    "Offline sources",
    "Other campaigns",
    "PAID_SOCIAL",
]
STAGES = ["Subscriber", "Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Opportunity"]
STATUSES = ["", "New", "Open", "In Progress", "Attempted to Contact", "Connected", "Bad Timing"]


def hubspot(rows: int, start: int, *, eu: bool) -> list[list[str]]:
    rng = random.Random(1200 + start)
    out = []
    for n in range(start, start + rows):
        p = _person(rng, n)
        when = p["created"].strftime("%Y-%m-%d %H:%M" if eu else "%m/%d/%Y %H:%M")
        source = rng.choice(SOURCES)
        drill = {"Organic search": "google.com", "Offline sources": "IMPORT"}.get(source, "")
        form = rng.choice(["", "Book a consultation", "Sleep study questions", "Contact us"])
        out.append(
            [
                str(51000 + n),
                p["first"],
                p["last"],
                p["email"],
                p["phone"],
                "",
                "",
                "",
                p["state"],
                p["zip"],
                "United States",
                p["line"],
                source,
                drill,
                "",
                rng.choice(STAGES),
                rng.choice(STATUSES),
                form,
                form,
                "Pat Rep",
                when,
                p["note"] + ("; Kontakt per E-Mail" if eu and n % 7 == 0 else ""),
                "",
            ]
        )
    return out


SF_REPORT = [
    "Lead ID",
    "First Name",
    "Last Name",
    "Title",
    "Company / Account",
    "Email",
    "Phone",
    "Mobile",
    "State/Province",
    "Zip/Postal Code",
    "Country",
    "Lead Source",
    "Lead Status",
    "Rating",
    "Service Line",
    "Description",
    "Email Opt Out",
    "Lead Owner",
    "Created Date",
]
SF_API = [
    "Id",
    "FirstName",
    "LastName",
    "Title",
    "Company",
    "Email",
    "Phone",
    "MobilePhone",
    "State",
    "PostalCode",
    "Country",
    "LeadSource",
    "Status",
    "Rating",
    "Industry",
    "Service_Line__c",
    "Description",
    "HasOptedOutOfEmail",
    "OwnerId",
    "CreatedDate",
]
SF_SOURCES = [
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
    "Trade Show",
    "Advertisement",
    "Employee Referral",
]
SF_STATUSES = [
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Not Converted",
    "Closed - Converted",
]


def salesforce_report(rows: int, start: int) -> list[list[str]]:
    rng = random.Random(2400 + start)
    out = []
    for n in range(start, start + rows):
        p = _person(rng, n)
        c = p["created"]
        hour = c.hour % 12 or 12
        when = f"{c.month}/{c.day}/{c.year} {hour}:{c.minute:02d} {'AM' if c.hour < 12 else 'PM'}"
        out.append(
            [
                f"00Q5e00000Rp{n:04d}",
                p["first"],
                p["last"],
                "",
                "",
                p["email"],
                p["phone"],
                "",
                p["state"],
                p["zip"],
                "USA",
                rng.choice(SF_SOURCES),
                rng.choice(SF_STATUSES),
                rng.choice(["", "Hot", "Warm", "Cold"]),
                p["line"],
                p["note"],
                rng.choice(["0", "0", "0", "1"]),
                "Pat Rep",
                when,
            ]
        )
    return out


def salesforce_api(rows: int, start: int) -> list[list[str]]:
    rng = random.Random(3600 + start)
    out = []
    for n in range(start, start + rows):
        p = _person(rng, n)
        when = (p["created"] + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        out.append(
            [
                f"00Q5e00000Dl{n:04d}AAC",
                p["first"],
                p["last"],
                "",
                "",
                p["email"],
                p["phone"],
                "",
                p["state"],
                p["zip"],
                "United States",
                rng.choice(SF_SOURCES),
                rng.choice(SF_STATUSES),
                "",
                "Healthcare",
                p["line"],
                p["note"],
                rng.choice(["false", "false", "true"]),
                "0055e000001AbCdAAK",
                when,
            ]
        )
    return out


def main() -> None:
    _write(HERE / "hubspot-contacts.csv", HUBSPOT, hubspot(220, 1, eu=False))
    _write(HERE / "hubspot-contacts-eu.csv", HUBSPOT, hubspot(210, 301, eu=True), sep=";")
    _write(HERE / "salesforce-report.csv", SF_REPORT, salesforce_report(205, 601))
    _write(
        HERE / "salesforce-dataloader.csv",
        SF_API,
        salesforce_api(205, 811),
        bom=False,
        crlf=False,
        trailing=1,
    )


if __name__ == "__main__":
    main()
