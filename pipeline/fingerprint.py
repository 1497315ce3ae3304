"""What dedup compares, for one article: paragraphs, word shingles, key facts and LSH bands.

Everything here is a pure function of the title and the text, so the Postgres and the
in-memory index compute the very same fingerprints.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import accumulate

import numpy as np

from pipeline.attribution import strip_dateline

SHINGLE_WORDS = 3
MIN_PARAGRAPH_WORDS = 6  # shorter lines ("Read more", "(dpa)") are too common to identify a story
LEAD_PARAGRAPHS = 3  # the top of the story, which the LSH bands cover
# LSH: bands and MinHash rows per band, for body shingles and for key facts. The single-row fact
# bands find paraphrases and first-version teasers, which share only some of their facts (one
# MinHash row in common is likelier than two); they also bring more chance candidates, so few.
BODY_BANDS, BODY_ROWS = 32, 2
FACT_BANDS, FACT_ROWS = 32, 2
SINGLE_FACT_BANDS = 8
FACT_BAND_OFFSET = BODY_BANDS  # band numbers: body 0..31, key facts 32..63, single-row key facts 64..71
SINGLE_FACT_BAND_OFFSET = FACT_BAND_OFFSET + FACT_BANDS
# One multiply-add hash per MinHash row (odd multipliers, wrapping 64-bit arithmetic).
_RNG = np.random.default_rng(1)
_ROWS = BODY_BANDS * BODY_ROWS + FACT_BANDS * FACT_ROWS
_MUL = _RNG.integers(0, 2**63, size=_ROWS, dtype=np.uint64) * 2 + 1
_ADD = _RNG.integers(0, 2**63, size=_ROWS, dtype=np.uint64)
_SHINGLE_MUL = _RNG.integers(0, 2**63, size=SHINGLE_WORDS, dtype=np.uint64) * 2 + 1
# The single-row bands' hashes are drawn last, so the buckets already stored keep their values.
_MUL = np.concatenate([_MUL, _RNG.integers(0, 2**63, size=SINGLE_FACT_BANDS, dtype=np.uint64) * 2 + 1])
_ADD = np.concatenate([_ADD, _RNG.integers(0, 2**63, size=SINGLE_FACT_BANDS, dtype=np.uint64)])

# The patterns below open with the character they match and look behind it afterwards, rather than
# opening with a look-behind or \b: the regex engine then skips ahead to candidate characters (3-5x faster).
WORD = re.compile(r"\w+")
NUMBER = re.compile(r"\d(?<!\w\d)\d*(?:[.,]\d+)*")  # not the 23 of "M23" or the 20 of "G20"
# Wire style spells out small counts ("four miners died"); "one" is left out, it is more often a pronoun.
NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split(), start=2)} | {
    w: str(n) for n, w in zip(range(30, 100, 10), "thirty forty fifty sixty seventy eighty ninety".split())}
# A capitalised word, not at the start of the text or of a sentence or quote.
NAME = re.compile(r"[A-Z](?<!\w[A-Z])(?<!^[A-Z])(?<![.!?\"\u201c]\s[A-Z])[\w'\u2019-]*[a-z][\w'\u2019-]*")
POSSESSIVE = re.compile(r"['\u2019]s?$")
WEEKDAY = re.compile(r"[MTWFS](?<!\w[MTWFS])(?:onday|uesday|ednesday|hursday|riday|aturday|unday)\b")
QUOTE = re.compile(r"[\"\u201c]([^\"\u201d]{12,}?)[\"\u201d]")
# Capitalised words that name nothing in particular.
COMMON_CAPS = frozenset(
    "the a an in on at of for and but or he she it they we i this that these those his her their its "
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december jan feb mar apr jun jul aug sep sept oct nov dec "
    "mr mrs ms dr read follow sign source".split())
# Fingerprint.to_bytes: bump STORED_FORMAT whenever Fingerprint.of would compute anything else, so
# fingerprints stored before are computed again rather than compared with new ones. The separators
# are control characters, which facts (word characters, apostrophes, hyphens) never contain.
STORED_FORMAT = 1
_FIELD_SEP, _FACT_SEP = "\x1f", "\x1e"


def hash64(text: str) -> int:
    """A stable signed 64-bit hash (fits Postgres bigint)."""
    return int.from_bytes(_digest64(text), "big", signed=True)


def _digest64(text: str) -> bytes:
    # The 8 bytes behind hash64, which _bands converts in bulk.
    return hashlib.blake2b(text.encode(), digest_size=8).digest()


def paragraphs_of(text: str) -> list[str]:
    """The text's paragraphs: blank-line separated, or one per line when the feed kept no blank lines."""
    blocks = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(blocks) <= 1:
        blocks = [p.strip() for p in text.split("\n") if p.strip()]
    return blocks


@dataclass(frozen=True)
class Paragraph:
    """One paragraph: its identity hash, its shingles and its key facts."""

    hash: int
    shingles: frozenset[int]
    facts: frozenset[str]


@dataclass
class Fingerprint:
    """One article's fingerprints; cheap to build, compared by ``pipeline.verify``."""

    title: str
    lede: str
    title_facts: frozenset[str]
    facts: frozenset[str]  # of the headline and every paragraph
    weekdays: frozenset[str]  # the days the story says things happened ("said on Tuesday")
    shingles: frozenset[int]  # of all paragraphs
    all_paragraph_hashes: frozenset[int]
    # Hashes of the paragraphs long enough to identify a story (what the recurrence count tracks).
    paragraph_hashes: list[int]
    bands: list[int]  # LSH buckets, one per band (see lsh_buckets)
    # The paragraphs, or what decodes them from a stored fingerprint on first use: most stored
    # candidates are chance LSH hits sharing no shingle with the new copy, which never need them.
    decode_paragraphs: list[Paragraph] | Callable[[], list[Paragraph]] = field(repr=False, compare=False)

    @classmethod
    def of(cls, title: str, text: str) -> Fingerprint:
        paras = paragraphs_of(text) or [title]
        paras[0] = strip_dateline(paras[0])
        paragraphs = [_paragraph(p) for p in paras]
        title_facts = frozenset(_facts(title, WORD.findall(title.lower())))
        return cls(
            title=title,
            lede=paras[0],
            title_facts=title_facts,
            facts=title_facts.union(*(p.facts for p in paragraphs)),
            weekdays=frozenset(WEEKDAY.findall(f"{title} {text}")),
            shingles=frozenset().union(*(p.shingles for p in paragraphs)),
            all_paragraph_hashes=frozenset(p.hash for p in paragraphs),
            paragraph_hashes=sorted({p.hash for p in paragraphs if len(p.shingles) >= MIN_PARAGRAPH_WORDS}),
            bands=lsh_buckets(paragraphs, title_facts),
            decode_paragraphs=paragraphs,
        )

    @cached_property
    def paragraphs(self) -> list[Paragraph]:
        """Paragraph by paragraph: hash, shingles and facts."""
        return self.decode_paragraphs() if callable(self.decode_paragraphs) else self.decode_paragraphs

    def to_bytes(self) -> bytes:
        """The fingerprint as stored (table article_fingerprints), without the title the article row holds:
        a little-endian int64 array (format, paragraphs, bands, shingles per paragraph, paragraph hashes,
        shingles, bands), then weekdays, facts and the lede as UTF-8 text."""
        counts = [len(p.shingles) for p in self.paragraphs]
        numbers = np.array([STORED_FORMAT, len(self.paragraphs), len(self.bands), *counts,
                            *(p.hash for p in self.paragraphs), *(s for p in self.paragraphs for s in p.shingles),
                            *self.bands], dtype="<i8")
        # The lede last: it is feed text and might hold a separator character itself.
        words = [_FACT_SEP.join(self.weekdays), _FACT_SEP.join(self.title_facts),
                 *(_FACT_SEP.join(p.facts) for p in self.paragraphs), self.lede]
        return numbers.tobytes() + _FIELD_SEP.join(words).encode()

    @classmethod
    def from_bytes(cls, title: str, data: bytes) -> Fingerprint | None:
        """The fingerprint ``to_bytes`` stored; None when it was stored in another format (compute it again)."""
        stored_format, paragraphs, bands = struct.unpack_from("<3q", data)
        if stored_format != STORED_FORMAT:
            return None
        counts = struct.unpack_from(f"<{paragraphs}q", data, 24)
        # After the header and the counts come the paragraph hashes, then each paragraph's shingles
        # (from ``first``, one run each, from ``starts``), then the bands (from ``last``).
        first = 3 + 2 * paragraphs
        *starts, last = accumulate(counts, initial=first)
        numbers = struct.unpack_from(f"<{last + bands}q", data)
        weekdays, title_facts, *facts, lede = data[8 * (last + bands):].decode().split(_FIELD_SEP, 2 + paragraphs)
        hashes = numbers[3 + paragraphs:first]

        def decode_paragraphs() -> list[Paragraph]:
            return [Paragraph(h, frozenset(numbers[start:start + n]), _split_facts(f))
                    for h, start, n, f in zip(hashes, starts, counts, facts)]

        return cls(
            title=title,
            lede=lede,
            title_facts=_split_facts(title_facts),
            facts=_split_facts(_FACT_SEP.join(filter(None, [title_facts, *facts]))),
            weekdays=_split_facts(weekdays),
            shingles=frozenset(numbers[first:last]),
            all_paragraph_hashes=frozenset(hashes),
            paragraph_hashes=sorted({h for h, n in zip(hashes, counts) if n >= MIN_PARAGRAPH_WORDS}),
            bands=list(numbers[last:]),
            decode_paragraphs=decode_paragraphs,
        )

    def decode(self) -> None:
        """Decode now what comparisons would decode on first use (of a stored fingerprint)."""
        _ = self.paragraphs, self.lead_shingles, self.numbers_and_names  # each a cached_property

    @cached_property
    def lead_shingles(self) -> frozenset[int]:
        """The shingles of the top of the story, where copies keep the lede (a write-through pushes it down)."""
        return frozenset().union(*(p.shingles for p in self.paragraphs[:LEAD_PARAGRAPHS]))

    @cached_property
    def numbers_and_names(self) -> tuple[frozenset[str], frozenset[str]]:
        """The numbers and the names of the headline and every paragraph (quotes count as names)."""
        return split_numbers(self.facts)


def lsh_buckets(paragraphs: list[Paragraph], title_facts: frozenset[str]) -> list[int]:
    """LSH buckets, one per band (the band number is part of the bucket): body-shingle bands, then key-fact
    bands, all over the headline and the top of the story (copies, teasers and write-throughs keep it, while
    footers and stock background paragraphs, which make unrelated stories collide, sit lower down).
    The last paragraph is left out unless it is the only one: that is where outlets put their footers."""
    lead = [p for p in paragraphs[:-1] or paragraphs if len(p.shingles) >= MIN_PARAGRAPH_WORDS][:LEAD_PARAGRAPHS]
    # Numbers and names only: paraphrases keep them, while quotes are often cut or reworded.
    facts = frozenset(hash64(f) for f in title_facts.union(*(p.facts for p in lead)) if not f.startswith('"'))
    return (_bands(frozenset().union(*(p.shingles for p in lead)), 0, BODY_BANDS, BODY_ROWS, 0)
            + _bands(facts, FACT_BAND_OFFSET, FACT_BANDS, FACT_ROWS, BODY_BANDS * BODY_ROWS)
            + _bands(facts, SINGLE_FACT_BAND_OFFSET, SINGLE_FACT_BANDS, 1, _ROWS))


def split_numbers(facts: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(the numbers, the other facts)."""
    numbers = frozenset(x for x in facts if x.startswith("#"))
    return numbers, facts - numbers


def _paragraph(text: str) -> Paragraph:
    words = WORD.findall(text.lower())
    return Paragraph(hash=hash64(" ".join(words)), shingles=_shingles(words), facts=frozenset(_facts(text, words)))


def _shingles(words: list[str]) -> frozenset[int]:
    """Hashes of the word 3-grams, mixed from per-word hashes (hashing each word once is what keeps this fast)."""
    if not words:
        return frozenset()
    hashes = np.array([_word_hash(w) for w in words] + [0] * (SHINGLE_WORDS - len(words)), dtype=np.int64)
    hashes = hashes.view(np.uint64)
    mixed = sum(hashes[i:len(hashes) - SHINGLE_WORDS + 1 + i] * _SHINGLE_MUL[i] for i in range(SHINGLE_WORDS))
    return frozenset(mixed.view(np.int64).tolist())


@lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    return hash64(word)


def _facts(text: str, words: list[str]) -> set[str]:
    """Key facts of a text (``words``: its lower-cased words): numbers ("#3000", "#9.5" for 9.50, "#4"
    for four), names ("@kravchuk"; "Peru's" and "Perú" give "@peru") and quoted word pairs ('"drones got')."""
    facts = {"#" + _number(n) for n in NUMBER.findall(text)}
    facts |= {"#" + NUMBER_WORDS[w] for w in words if w in NUMBER_WORDS}
    facts |= {"@" + name for name in map(_name, NAME.findall(text)) if name and name not in COMMON_CAPS}
    for quote in QUOTE.findall(text):
        quoted = WORD.findall(quote.lower())
        facts |= {'"' + " ".join(quoted[i:i + 2]) for i in range(len(quoted) - 1)}
    return facts


def _split_facts(joined: str) -> frozenset[str]:
    return frozenset(joined.split(_FACT_SEP)) if joined else frozenset()


def _number(text: str) -> str:
    plain = text.replace(",", "")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def _name(word: str) -> str:
    # One outlet writes "Peru's" and "Viña", another "Peru" and "Vina".
    bare = POSSESSIVE.sub("", word.lower())
    return "".join(c for c in unicodedata.normalize("NFKD", bare) if not unicodedata.combining(c))


def _bands(items: frozenset[int], first_band: int, bands: int, rows: int, first_row: int) -> list[int]:
    """MinHash the (already hashed) set with ``bands * rows`` hash functions from ``first_row`` on,
    then hash each band's rows into one bucket, with the band number in its top byte (so one
    bigint column indexes every band, and equal rows in two bands never meet)."""
    if not items:
        return []
    hashes = slice(first_row, first_row + bands * rows)
    values = np.fromiter(items, dtype=np.int64, count=len(items)).view(np.uint64)
    signature = (values[None, :] * _MUL[hashes, None] + _ADD[hashes, None]).min(axis=1)
    # A band's bucket hashes the hex of its rows' bytes; one hex string sliced per band is far
    # cheaper than a numpy scalar per band.
    digits = signature.tobytes().hex()
    width = 16 * rows
    digests = b"".join(_digest64(digits[i * width:(i + 1) * width]) for i in range(bands))
    # hash64 of each band's hex: its digests read as big-endian signed 64-bit, all at once.
    band_numbers = np.arange(first_band, first_band + bands, dtype=np.int64)
    return (np.frombuffer(digests, dtype=">i8").astype(np.int64) ^ (band_numbers << 56)).tolist()
