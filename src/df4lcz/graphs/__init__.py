"""Instance graphs from mask label maps: one graph per chip, nodes = masks, edges = a spatial rule.

Modules (import from them directly):

* :mod:`.features` — node features (mean RGB, bounding-box centre, area, box size, elongation);
* :mod:`.edges` — edge rules: ``adjacency`` (pixels within a tolerance), ``radius``, ``knn``;
* :mod:`.runs` — the row runs of a label map and reusable scratch buffers, shared by both;
* :mod:`.build` — :func:`~.build.build_graph` (one chip), :func:`~.build.build_graphs` (collated
  :class:`~df4lcz.io.graphs.GraphSet`) and :func:`~.build.graph_settings` (from the config);
* :mod:`.pyg` — ``torch_geometric`` ``Data`` objects of a :class:`~df4lcz.io.graphs.GraphSet`.

Chips without any mask
----------------------
A chip whose label map is all background becomes a one-node graph describing the whole chip:
mean RGB of the chip, centre (0.5, 0.5), area, bbox_w and bbox_h 1, elongation 0, no edges.

Everything is vectorised and exact; per chip the work is a few passes over the pixels (row
runs, one packed ``np.add.reduceat`` for the colour sums, one run-index map for the adjacency
windows) plus array operations on the few thousand foreground row runs. Scratch buffers are
reused from chip to chip.

The graph file is read and written by :mod:`df4lcz.io.graphs` (docs/contracts.md §5); the graphs
rule runs in :mod:`df4lcz.stages.graphs`.
"""
