# dataset: lczc_ges2 — the released LCZC-GES2 patches and graphs of DF4LCZ, imported as they are.
# Its raw inputs are the dataset folder (scanned once) and each shard's sen2_image_{i}.npz /
# graph_{i}.npz files (declared per shard from the sample table's s2_path / graph_path columns) and
# the released split pickles. Outputs follow docs/contracts.md, so training and evaluation run unchanged.


checkpoint lczc_ges2_samples:
    input:
        root=config["lczc_ges2"]["root"],
    output:
        table="results/samples.parquet",
        summary="results/tables/samples_per_class.csv",
    log:
        "logs/lczc_ges2_samples.log",
    benchmark:
        "benchmarks/lczc_ges2_samples.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        shard_size=config["samples"]["shard_size"],
    script:
        "../workflow_scripts/lczc_ges2_samples.py"


rule lczc_ges2_sentinel2:
    input:
        samples="results/samples.parquet",
        patches=INPUTS.shard_column_files("s2_path"),
    output:
        chips="results/chips/sentinel2/{shard}.h5",
    log:
        "logs/lczc_ges2_sentinel2/{shard}.log",
    benchmark:
        "benchmarks/lczc_ges2_sentinel2/{shard}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1500,
    script:
        "../workflow_scripts/lczc_ges2_sentinel2.py"


rule lczc_ges2_graphs:
    input:
        samples="results/samples.parquet",
        graph_files=INPUTS.shard_column_files("graph_path"),
    output:
        graphs="results/graphs/{shard}.h5",
    log:
        "logs/lczc_ges2_graphs/{shard}.log",
    benchmark:
        "benchmarks/lczc_ges2_graphs/{shard}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1500,
    script:
        "../workflow_scripts/lczc_ges2_graphs.py"


rule lczc_ges2_splits:
    input:
        samples="results/samples.parquet",
        pickle=lambda wc: config["lczc_ges2"]["split_files"][wc.strategy],
    output:
        split="results/splits/{strategy}.csv",
        summary="results/splits/{strategy}_summary.csv",
    log:
        "logs/lczc_ges2_splits/{strategy}.log",
    benchmark:
        "benchmarks/lczc_ges2_splits/{strategy}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../workflow_scripts/lczc_ges2_splits.py"
