# The embedded demo dataset: one job per synthetic city (README, "The embedded demo dataset").


rule demo_city:
    output:
        google="resources/demo/{city}/google.tif",
        sentinel2="resources/demo/{city}/sentinel2.tif",
        labels="resources/demo/{city}/labels.gpkg",
        truth="resources/demo/{city}/lcz_truth.tif",
        meta="resources/demo/{city}/city.json",
    log:
        "logs/demo_city/{city}.log",
    benchmark:
        "benchmarks/demo_city/{city}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=6000,
    params:
        demo=config["demo"],
    script:
        "../workflow_scripts/demo_city.py"
