"""Which news agency a story came from, and how we know.

Evidence, strongest first: a dateline (``PARIS (AFP) -``), a trailing credit
(``Source: AFP``, ``- Reuters``, ``with AFP``), the entry's author/credit field,
then the feed's own agency hint. A quote such as "told AFP" is not attribution.
"""

from __future__ import annotations

import re

# Canonical name -> spellings seen in datelines and credits.
AGENCIES: dict[str, tuple[str, ...]] = {
    "AFP": ("AFP", "Agence France-Presse", "Agence France Presse"),
    "Reuters": ("Reuters", "Thomson Reuters"),
    "AP": ("AP", "Associated Press", "The Associated Press"),
    "DPA": ("dpa", "DPA", "Deutsche Presse-Agentur"),
    "Xinhua": ("Xinhua",),
    "UPI": ("UPI", "United Press International"),
    "ANI": ("ANI", "Asian News International"),
    "PTI": ("PTI", "Press Trust of India"),
    "EFE": ("EFE", "Agencia EFE"),
    "ANSA": ("ANSA",),
    "Kyodo": ("Kyodo", "Kyodo News"),
    "Yonhap": ("Yonhap",),
    "PA": ("PA", "PA Media", "Press Association"),
    "Bernama": ("Bernama",),
    "AAP": ("AAP", "Australian Associated Press"),
    "Anadolu": ("Anadolu", "Anadolu Agency", "AA"),
    "TASS": ("TASS",),
    "IANS": ("IANS",),
    "CNA": ("CNA", "Central News Agency"),
}
_SPELLING_TO_AGENCY = {s.lower(): name for name, spellings in AGENCIES.items() for s in spellings}
_ALTERNATION = "|".join(
    sorted((re.escape(s) for s in _SPELLING_TO_AGENCY), key=len, reverse=True)
)
# "PARIS (AFP) -", "WASHINGTON (AP) —", "NAIROBI, May 3 (Reuters) -", "Guwahati, Jun 17 (PTI)",
# "Madrid, Jul 14 (EFE).-": place, optional date, agency, then whatever punctuation the house uses.
DATELINE = re.compile(
    rf"^\s*[A-Z][\w .,'’/-]{{0,60}}?\((?P<agency>{_ALTERNATION})\)\s*(?:[-–—:.]+\s*)?", re.IGNORECASE
)
# "Source: AFP", "— Reuters", "with AFP", "(AFP)", "Copyright AFP" at the very end.
TRAILING_CREDIT = re.compile(
    rf"(?:source\s*:|[-–—]|\bwith\b|\bcopyright\b|©|\()\s*(?P<agency>{_ALTERNATION})\)?\s*\.?\s*$",
    re.IGNORECASE,
)
AUTHOR_CREDIT = re.compile(rf"\b(?P<agency>{_ALTERNATION})\b", re.IGNORECASE)


def _canonical(spelling: str) -> str | None:
    name = _SPELLING_TO_AGENCY.get(spelling.lower())
    # Short all-caps codes (AP, PA, AA) only count when written in capitals.
    if name and len(spelling) <= 3 and spelling != spelling.upper():
        return None
    return name


def strip_dateline(text: str) -> str:
    """The text without its opening agency dateline, when it has one."""
    dateline = DATELINE.match(text)
    return text[dateline.end():] if dateline and _canonical(dateline.group("agency")) else text


def detect_agency(
    text: str, author: str | None = None, agency_hint: str | None = None
) -> tuple[str | None, str | None]:
    """(agency, evidence) for an article's text, or (None, None) when nothing attributes it."""
    dateline = DATELINE.match(text[:200])
    if dateline and (agency := _canonical(dateline.group("agency"))):
        return agency, "dateline"
    credit = TRAILING_CREDIT.search(text[-120:])
    if credit and (agency := _canonical(credit.group("agency"))):
        return agency, "credit"
    if author and (match := AUTHOR_CREDIT.search(author)):
        if agency := _canonical(match.group("agency")):
            return agency, "author"
    if agency_hint:
        return _canonical(agency_hint) or agency_hint, "feed"
    return None, None
