"""One module per Snakemake rule, named like the rule; each has ``run(job)``.

A newcomer goes rule file (``rules/<stage>.smk``) → script (``workflow_scripts/<rule>.py``, three
lines) → ``df4lcz.stages.<rule>.run`` in one hop each. A stage module unpacks the job's inputs,
params and outputs, calls the library, logs what it did and writes its outputs through
:mod:`df4lcz.io`. It holds no algorithm of its own.
"""
