# dataset: so2sat — So2Sat LCZ42 HDF5 files (Sentinel-2 stream only; no graphs, no fusion).
# Raw inputs: the training / validation / testing files; each shard declares the files its samples
# come from. The split strategy `official` is So2Sat's own split (docs/contracts.md §6).


#: The configured So2Sat files by role (training, validation, testing).
SO2SAT_FILES = {
    key: config["so2sat"][key] for key in ("training", "validation", "testing")
}


checkpoint so2sat_samples:
    input:
        **SO2SAT_FILES,
    output:
        table="results/samples.parquet",
        summary="results/tables/samples_per_class.csv",
    log:
        "logs/so2sat_samples.log",
    benchmark:
        "benchmarks/so2sat_samples.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        shard_size=config["samples"]["shard_size"],
        files=SO2SAT_FILES,
    script:
        "../workflow_scripts/so2sat_samples.py"


rule so2sat_sentinel2:
    input:
        samples="results/samples.parquet",
        h5=lambda wc: [
            SO2SAT_FILES[name] for name in INPUTS.shard_column_files("so2sat_file")(wc)
        ],
    output:
        chips="results/chips/sentinel2/{shard}.h5",
    log:
        "logs/so2sat_sentinel2/{shard}.log",
    benchmark:
        "benchmarks/so2sat_sentinel2/{shard}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1500,
    params:
        files=SO2SAT_FILES,
    script:
        "../workflow_scripts/so2sat_sentinel2.py"


rule so2sat_splits:
    input:
        samples="results/samples.parquet",
    output:
        split="results/splits/{strategy}.csv",
        summary="results/splits/{strategy}_summary.csv",
    log:
        "logs/so2sat_splits/{strategy}.log",
    benchmark:
        "benchmarks/so2sat_splits/{strategy}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../workflow_scripts/so2sat_splits.py"
