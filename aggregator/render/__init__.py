"""Renderers: each reads a `aggregator.model.ReportData` and writes one format; none computes a figure.

markdown (md_text: Markdown escaping), html (html_base: escaping and tags; html_tables: the detail sections; charts:
inline SVG), summary_json, results_csv, junit, and compare (the `grid compare` Markdown). fmt: number and status
words shared by the Markdown and HTML.
"""
