"""Evaluation of LCZ predictions: the late fusion, metrics, calibration, figures and the summary.

Modules:

* :mod:`~df4lcz.evaluation.fusion` — DF4LCZ late fusion of the two streams (raw or temperature-scaled)
  and the choice of α.
* :mod:`~df4lcz.evaluation.metrics` — OA, OA_BU, OA_N, kappa, F1 and per-class scores (numpy).
* :mod:`~df4lcz.evaluation.calibration` — ECE/MCE, reliability bins and temperature scaling.
* :mod:`~df4lcz.evaluation.bootstrap` — percentile bootstrap intervals of the metrics (samples or polygons).
* :mod:`~df4lcz.evaluation.figures` — confusion matrices, reliability diagrams, the α curve.
* :mod:`~df4lcz.evaluation.report` — metrics of one prediction frame; the evaluate rule's file names.
* :mod:`~df4lcz.evaluation.provenance` — what ran: the graphs behind the GCN, from the graph files' attrs.
* :mod:`~df4lcz.evaluation.summary` — what the one-page summary shows;
  :mod:`~df4lcz.evaluation.summary_pages` — its Markdown and HTML pages.

Files are read and written through :mod:`df4lcz.io` (predictions, α curves and fusion tables, metrics tables).
"""
