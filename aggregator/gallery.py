"""The output gallery: what each model wrote per prompt × image, whitespace collapsed, with its quality flags.

Outputs are untrusted: renderers escape them (md_text.cell, html.escape). A twin's (random weights) output and
flags are noise by construction, so its entries are marked `synthetic`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregator.dataset import ResultsDataset
from aggregator.rootcause import clip
from aggregator.statuses import OK

MAX_ENTRIES = 2000  # the gallery of a huge run stays readable; summary.json / results.csv have every output
OUTPUT_CHARS = 500


@dataclass
class GalleryEntry:
    model: str
    prompt_id: str
    image_id: str
    hw_class: str
    output: str  # whitespace collapsed, clipped at a word boundary
    flags: list[str]
    synthetic: bool  # a twin: random weights, so the output and its flags are noise


@dataclass
class Gallery:
    entries: list[GalleryEntry] = field(default_factory=list)
    total: int = 0

    def by_model(self) -> dict[str, list[GalleryEntry]]:
        out: dict[str, list[GalleryEntry]] = {}
        for e in self.entries:
            out.setdefault(e.model, []).append(e)
        return out


def gallery(ds: ResultsDataset, limit: int = MAX_ENTRIES) -> Gallery:
    """One ok output per (model, prompt, image): the latest attempt on the first hardware class (by name)."""
    base = f"""SELECT model, prompt_id, image_id, hw_class, output_text, quality_flags,
               coalesce(model_source = 'twin', false) OR model LIKE 'twin%:%' AS synthetic
        FROM raw WHERE status = '{OK}' AND output_text IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY model, prompt_id, image_id
                                   ORDER BY hw_class, attempt DESC, finished_at DESC) = 1"""
    total = ds.scalar(f"SELECT count(*) FROM ({base})") or 0
    rows = ds.records(f"SELECT * FROM ({base}) ORDER BY model, prompt_id, image_id LIMIT {int(limit)}")
    entries = [
        GalleryEntry(
            r["model"],
            r["prompt_id"] or "",
            r["image_id"] or "",
            r["hw_class"],
            clip(r["output_text"], OUTPUT_CHARS),
            list(r["quality_flags"] or []),
            bool(r["synthetic"]),
        )
        for r in rows
    ]
    return Gallery(entries, int(total))
