# The embedded demo dataset: one job per synthetic city (DESIGN.md §6).


rule demo_city:
    output:
        google="resources/demo/{city}/google.tif",
        sentinel2="resources/demo/{city}/sentinel2.tif",
        labels="resources/demo/{city}/labels.gpkg",
        truth="resources/demo/{city}/lcz_truth.tif",
        meta="resources/demo/{city}/city.json",
    params:
        demo=config["demo"],
    log:
        "logs/demo_city/{city}.log",
    benchmark:
        "benchmarks/demo_city/{city}.tsv"
    threads: 1
    resources:
        mem_mb=6000,
    conda:
        "../envs/df4lcz.yaml"
    script:
        "../workflow_scripts/demo_city.py"
