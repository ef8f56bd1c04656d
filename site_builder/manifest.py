"""What a build was made from, kept beside a release (not published) so that the next build renders
again only the villages whose data or theme changed."""
from __future__ import annotations

from dataclasses import dataclass

from db.fingerprints import fingerprints
from db.published import Snapshot


@dataclass(frozen=True)
class BuiltVillage:
    digest: str             # db.fingerprints: the village's data
    receipts: list[str]     # public names of its files in files/
    entries: list[dict]     # its search index entries
    kept: bool              # linked from the previous build, not rendered again
    positions: dict | None  # where its rows sit in each region file: {"<table>.csv[.gz]": [offset, length]}

    def to_json(self) -> list:
        return [self.digest, self.receipts, self.entries, self.kept, self.positions]

    @classmethod
    def from_json(cls, record: list) -> BuiltVillage:
        digest, receipts, entries, kept, *rest = record
        return cls(digest, receipts, entries, kept, rest[0] if rest else None)  # before positions were kept


@dataclass(frozen=True)
class Manifest:
    theme: str  # site_builder.theme.fingerprint
    villages: dict[str, BuiltVillage]
    compression: str = ""  # site_builder.compress.KEY: the libraries its precompressed files were made with

    def kept(self) -> set[str]:
        return {code for code, village in self.villages.items() if village.kept}

    def rebuilt(self) -> list[str]:
        return [code for code, village in self.villages.items() if not village.kept]

    def to_json(self) -> dict:
        return {"theme": self.theme, "compression": self.compression,
                "villages": {code: v.to_json() for code, v in self.villages.items()}}

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        return cls(data.get("theme", ""), {code: BuiltVillage.from_json(record)
                                           for code, record in data.get("villages", {}).items()},
                   data.get("compression", ""))


def digests(snap: Snapshot) -> dict[str, str]:
    """The data digest of each village, by code."""
    by_id = fingerprints(snap)
    return {v.code: by_id[v.id] for v in snap.villages}
