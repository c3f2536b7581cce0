"""Instance graphs from whole masks: one graph per chip, nodes = masks, edges = a spatial rule.

Modules (import from them directly):

* :mod:`.whole` — node features over whole masks (``graphs.mask_view: whole``, DF4LCZ's), from
  the masks' run-length runs and prefix sums;
* :mod:`.features` — node features over the visible pixels of a painted label map
  (``mask_view: visible``): mean RGB, bounding-box centre, area, box size, elongation;
* :mod:`.edges` — edge rules: ``adjacency`` (pixels of the painted map within a tolerance),
  ``complete`` (every pair of distinct centres, DF4LCZ's), ``radius``, ``knn``;
* :mod:`.runs` — the row runs of a label map and reusable scratch buffers;
* :mod:`.build` — :func:`~.build.build_graphs` (a shard's :class:`~df4lcz.io.masks.MaskSet`
  → collated :class:`~df4lcz.io.graphs.GraphSet`), :func:`~.build.build_graph` (one label map,
  visible view) and :func:`~.build.graph_settings` (from the config);
* :mod:`.pyg` — ``torch_geometric`` ``Data`` objects of a :class:`~df4lcz.io.graphs.GraphSet`;
* :mod:`.degenerate` — chips without mask and one-node graphs counted, recorded as input checks
  and limited by ``graphs.max_single_node_fraction``.

Chips without any mask
----------------------
A chip without masks becomes a one-node graph describing the whole chip: mean RGB of the chip,
area, bbox_w and bbox_h 1, elongation 0 (square chip), no edges; centre (0.5, 0.5) in the
visible view, ``(W - 1) / (2W)`` in the whole view (a box ``0, 0, W-1, H-1``). Such chips, and
one-node graphs in general, are counted and warned about (:mod:`.degenerate`).

Everything is vectorised and exact; per chip the work is a few passes over the pixels (prefix
sums, or row runs and the painted map) plus array operations on the few thousand runs. Scratch
buffers are reused from chip to chip.

The graph file is read and written by :mod:`df4lcz.io.graphs` (docs/contracts.md §5); the graphs
rule runs in :mod:`df4lcz.stages.graphs`.
"""
