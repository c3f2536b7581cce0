# Imported datasets (dataset: lczc_ges2 or so2sat): pre-cut patches and graphs replace the demo,
# sampling, chipping and segmentation stages; the outputs follow the same contracts (DESIGN.md §5),
# so training, fusion and evaluation run unchanged.


def import_inputs():
    """Input files of the imported dataset (its root folder or its HDF5 files)."""
    if config["dataset"] == "lczc_ges2":
        return {"root": config["lczc_ges2"]["root"]}
    return {key: config["so2sat"][key] for key in ("training", "validation", "testing")}


checkpoint samples:
    input:
        **import_inputs(),
    output:
        table="results/samples.parquet",
        summary="results/tables/samples_per_class.csv",
    params:
        dataset=config["dataset"],
        shard_size=config["samples"]["shard_size"],
        files=import_inputs(),
    log:
        "logs/samples.log",
    benchmark:
        "benchmarks/samples.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        "../envs/df4lcz.yaml"
    script:
        "../workflow_scripts/import_samples.py"


rule import_sentinel2:
    input:
        samples="results/samples.parquet",
    output:
        chips="results/chips/sentinel2/{shard}.h5",
    params:
        dataset=config["dataset"],
        files=import_inputs(),
    log:
        "logs/import_sentinel2/{shard}.log",
    benchmark:
        "benchmarks/import_sentinel2/{shard}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
    conda:
        "../envs/df4lcz.yaml"
    script:
        "../workflow_scripts/import_sentinel2.py"


rule import_graphs:
    input:
        samples="results/samples.parquet",
    output:
        graphs="results/graphs/{shard}.h5",
    log:
        "logs/import_graphs/{shard}.log",
    benchmark:
        "benchmarks/import_graphs/{shard}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
    conda:
        "../envs/df4lcz.yaml"
    script:
        "../workflow_scripts/import_graphs.py"


rule import_splits:
    input:
        samples="results/samples.parquet",
        pickle=lambda wc: (
            [config["lczc_ges2"]["split_files"][wc.strategy]]
            if config["dataset"] == "lczc_ges2"
            else []
        ),
    output:
        split="results/splits/{strategy}.csv",
        summary="results/splits/{strategy}_summary.csv",
    params:
        dataset=config["dataset"],
    log:
        "logs/import_splits/{strategy}.log",
    benchmark:
        "benchmarks/import_splits/{strategy}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        "../envs/df4lcz.yaml"
    script:
        "../workflow_scripts/import_splits.py"


rule valid_samples:
    input:
        **{stream: shard_files(STREAM_DIRS[stream]) for stream in STREAMS},
    output:
        table="results/valid_samples.csv",
    params:
        streams=STREAMS,
    log:
        "logs/valid_samples.log",
    benchmark:
        "benchmarks/valid_samples.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        "../envs/df4lcz.yaml"
    script:
        "../workflow_scripts/valid_samples.py"
