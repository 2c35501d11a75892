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
    where = f"status = '{OK}' AND output_text IS NOT NULL"
    # the shown (model, prompt, image) keys first, then the outputs of those only: ranking every ok row with its
    # output text attached was 0.9 s of a 1M-row report
    keys = f"SELECT DISTINCT model, prompt_id, image_id FROM raw WHERE {where}"
    total = ds.scalar(f"SELECT count(*) FROM ({keys})") or 0
    rows = ds.records(f"""
        WITH shown AS ({keys} ORDER BY model, prompt_id, image_id LIMIT {int(limit)})
        SELECT r.model, r.prompt_id, r.image_id, r.hw_class, r.output_text, r.quality_flags,
               coalesce(r.model_source = 'twin', false) OR r.model LIKE 'twin%:%' AS synthetic
        FROM raw r JOIN shown k ON r.model = k.model AND r.prompt_id IS NOT DISTINCT FROM k.prompt_id
                               AND r.image_id IS NOT DISTINCT FROM k.image_id
        WHERE r.status = '{OK}' AND r.output_text IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY r.model, r.prompt_id, r.image_id
                                   ORDER BY r.hw_class, r.attempt DESC, r.finished_at DESC) = 1
        ORDER BY r.model, r.prompt_id, r.image_id""")
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
