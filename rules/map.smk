# Wall-to-wall LCZ maps: the 320 m window slides over a whole region; both trained streams and
# the fusion classify every window (datasets demo and regions).


rule lcz_map:
    input:
        google=lambda wc: google_inputs(wc.region),
        sentinel2=lambda wc: REGIONS[wc.region]["sentinel2"],
        labels=lambda wc: REGIONS[wc.region]["labels"] or [],
        truth=lambda wc: (
            [f"resources/demo/{wc.region}/lcz_truth.tif"] if VARIANT.demo_truth else []
        ),
        s2_model=MAP_MODELS["s2"],
        gcn_model=MAP_MODELS["gcn"],
        checkpoint=sam_checkpoint_input,
    output:
        tif="results/maps/{region}_lcz.tif",
        png=report(
            "results/maps/{region}_lcz.png",
            caption="../report/map.rst",
            category="6. LCZ maps",
        ),
        agreement="results/tables/map_agreement_{region}.csv",
    log:
        "logs/lcz_map/{region}.log",
    benchmark:
        "benchmarks/lcz_map/{region}.tsv"
    wildcard_constraints:
        region="|".join(re.escape(name) for name in REGIONS) or "NO_REGION",
    conda:
        "../envs/df4lcz.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc: 12000 if config["segment"]["backend"] == "sam" else 4000,
        gpu=lambda wc: 1 if config["segment"]["backend"] == "sam" else 0,
    params:
        map={k: config["map"][k] for k in ("stride_m", "batch_size")},
        alpha=(
            config["map"]["alpha"]
            if config["map"]["alpha"] is not None
            else config["fusion"]["alpha"]
        ),
        region=lambda wc: REGIONS[wc.region],
        segment=segment_params(),
        graphs=config["graphs"],
        google=config["google"],
        google_input=lambda wc: google_spec(wc.region).as_params(),
        sentinel2=config["sentinel2"],
        device=config["train"]["device"],
    script:
        "../workflow_scripts/lcz_map.py"
