"""Instance segmentation of Google chips: SAM automatic masks or classical regions, one format.

Modules (import from them directly; this package imports nothing, so the Snakefile can read the
checkpoint table without loading torch or scikit-image):

* :mod:`.protocol` — the :class:`~.protocol.Segmenter` protocol, the mask record format and
  :func:`~.protocol.make_segmenter` (a backend from the ``segment`` config slice);
* :mod:`.sam` — :class:`~.sam.SamSegmenter`, SAM architectures (``vit_*`` and the ``tiny`` test
  model) and checkpoint loading;
* :mod:`.sam_compat` — segment-anything without OpenCV (small-region removal with
  scikit-image) and its empty-crop bug;
* :mod:`.classical` — :class:`~.classical.ClassicalSegmenter` (Felzenszwalb or SLIC);
* :mod:`.labels` — records → whole masks (:func:`~.labels.segment_images`) and the painted
  label map derived from them (:func:`~.labels.paint_labels`);
* :mod:`.overlays` — the mask-overlay figure;
* :mod:`.describe` — one line naming the segmentation behind masks files (for the summary);
* :mod:`.checkpoints` — the official SAM checkpoints: download and sha256 verification.

The masks file itself (``MaskSet``) is read and written by :mod:`df4lcz.io.masks`
(docs/contracts.md §4); the segment and sam_checkpoint rules run in :mod:`df4lcz.stages.segment`
and :mod:`df4lcz.stages.sam_checkpoint`.
"""
