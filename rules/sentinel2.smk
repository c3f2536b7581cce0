# Sentinel-2 stream: 32×32×10 reflectance chips per shard.

from df4lcz.run import sentinel2_region_params


rule chip_sentinel2:
    input:
        samples="results/samples.parquet",
        raster=lambda wc: INPUTS.shard_region(wc)["sentinel2"],
    output:
        chips="results/chips/sentinel2/{shard}.h5",
    log:
        "logs/chip_sentinel2/{shard}.log",
    benchmark:
        "benchmarks/chip_sentinel2/{shard}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1500,
    params:
        sentinel2=config["sentinel2"],
        region=lambda wc: sentinel2_region_params(INPUTS.shard_region(wc)),
    script:
        "../workflow_scripts/chip_sentinel2.py"
