# Sentinel-2 stream: 32×32×10 reflectance chips per shard.


rule chip_sentinel2:
    input:
        samples="results/samples.parquet",
        raster=lambda wc: shard_region(wc)["sentinel2"],
    output:
        chips="results/chips/sentinel2/{shard}.h5",
    params:
        sentinel2=config["sentinel2"],
        band_names=lambda wc: shard_region(wc)["s2_band_names"],
    log:
        "logs/chip_sentinel2/{shard}.log",
    benchmark:
        "benchmarks/chip_sentinel2/{shard}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
    conda:
        "../envs/df4lcz.yaml"
    script:
        "../workflow_scripts/chip_sentinel2.py"


rule valid_samples:
    input:
        google=lambda wc: expand("results/chips/google/{shard}.h5", shard=all_shards()),
        sentinel2=lambda wc: expand("results/chips/sentinel2/{shard}.h5", shard=all_shards()),
    output:
        table="results/valid_samples.csv",
    params:
        streams=["google", "sentinel2"],
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
