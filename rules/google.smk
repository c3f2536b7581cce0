# Google Earth stream: RGB chips → instance masks (SAM or classical) → graphs, per shard.


rule chip_google:
    input:
        samples="results/samples.parquet",
        raster=lambda wc: shard_region(wc)["google"],
    output:
        chips="results/chips/google/{shard}.h5",
    params:
        google=config["google"],
    log:
        "logs/chip_google/{shard}.log",
    benchmark:
        "benchmarks/chip_google/{shard}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        "../envs/df4lcz.yaml"
    script:
        "../workflow_scripts/chip_google.py"
