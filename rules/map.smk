# Wall-to-wall LCZ maps: the 320 m window slides over a whole region; both trained streams and
# the fusion classify every window (datasets demo and regions). The region's grid is cut into
# tiles (checkpoint lcz_map_plan, from the raster footprints), one lcz_map_tile job per tile, and
# lcz_map gathers the tiles into the map's files (docs/contracts.md §12).


MAP_PROBABILITY_OUTPUTS = (
    {"probabilities": "results/maps/{region}_lcz_probabilities.tif"}
    if config["map"]["probabilities"] != "none"
    else {}
)


checkpoint lcz_map_plan:
    input:
        unpack(INPUTS.map_raster_inputs),
    output:
        plan="results/maps/tiles/{region}/plan.json",
    log:
        "logs/lcz_map_plan/{region}.log",
    benchmark:
        "benchmarks/lcz_map_plan/{region}.tsv"
    wildcard_constraints:
        region=REGION_RE,
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        map={k: config["map"][k] for k in ("stride_m", "tile_windows")},
        region=lambda wc: REGIONS[wc.region],
        google_input=lambda wc: INPUTS.google_spec(wc.region).as_params(),
    script:
        "../workflow_scripts/lcz_map_plan.py"


rule lcz_map_tile:
    input:
        unpack(INPUTS.map_raster_inputs),
        plan="results/maps/tiles/{region}/plan.json",
        s2_model=MAP_MODELS["s2"],
        gcn_model=MAP_MODELS["gcn"],
        checkpoint=INPUTS.sam_checkpoint_input,
    output:
        tile="results/maps/tiles/{region}/{tile}.tif",
    log:
        "logs/lcz_map_tile/{region}/{tile}.log",
    benchmark:
        "benchmarks/lcz_map_tile/{region}/{tile}.tsv"
    wildcard_constraints:
        region=REGION_RE,
        tile=r"r\d+c\d+",
    conda:
        "../envs/df4lcz.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc: 12000 if config["segment"]["backend"] == "sam" else 3000,
        gpu=lambda wc: 1 if config["segment"]["backend"] == "sam" else 0,
    params:
        map={k: config["map"][k] for k in ("stride_m", "batch_size")},
        alpha=(
            config["map"]["alpha"]
            if config["map"]["alpha"] is not None
            else config["fusion"]["alpha"]
        ),
        region=lambda wc: REGIONS[wc.region],
        segment=segment_params(config),
        graphs=config["graphs"],
        google=config["google"],
        google_input=lambda wc: INPUTS.google_spec(wc.region).as_params(),
        sentinel2=config["sentinel2"],
        device=config["train"]["device"],
    script:
        "../workflow_scripts/lcz_map_tile.py"


rule lcz_map:
    input:
        plan="results/maps/tiles/{region}/plan.json",
        tiles=INPUTS.map_tile_files,
        labels=lambda wc: REGIONS[wc.region]["labels"] or [],
        truth=lambda wc: (
            [f"resources/demo/{wc.region}/lcz_truth.tif"] if VARIANT.demo_truth else []
        ),
    output:
        **MAP_PROBABILITY_OUTPUTS,
        tif="results/maps/{region}_lcz.tif",
        qml="results/maps/{region}_lcz.qml",
        vrt="results/maps/{region}_tiles.vrt",
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
        region=REGION_RE,
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        map={k: config["map"][k] for k in ("smooth_sigma_m", "probabilities")},
        alpha=(
            config["map"]["alpha"]
            if config["map"]["alpha"] is not None
            else config["fusion"]["alpha"]
        ),
        region=lambda wc: REGIONS[wc.region],
        source=RUN.map_source,
    script:
        "../workflow_scripts/lcz_map.py"
