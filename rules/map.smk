# Wall-to-wall LCZ maps: the 320 m window slides over a whole region; both trained streams and
# the fusion classify every window (datasets demo and regions). The region's grid is cut into
# tiles (checkpoint lcz_map_plan, from the raster footprints), one lcz_map_tile job per tile, and
# lcz_map gathers the tiles into the map's files (docs/contracts.md §12).


MAP_PROBABILITY_OUTPUTS = (
    {"probabilities": "results/maps/{region}_lcz_probabilities.tif"}
    if config["map"]["probabilities"] != "none"
    else {}
)
# map.uncertainty: each tile job also writes its streams' most probable classes; the gather writes
# the uncertainty COG and its preview.
MAP_UNCERTAINTY = config["map"]["uncertainty"]
MAP_STREAM_TILE_OUTPUTS = (
    {"streams": "results/maps/tiles/{region}/{tile}_streams.tif"}
    if MAP_UNCERTAINTY
    else {}
)
MAP_STREAM_TILE_INPUTS = (
    {"streams": INPUTS.map_stream_tile_files} if MAP_UNCERTAINTY else {}
)
MAP_UNCERTAINTY_OUTPUTS = (
    {
        "uncertainty": "results/maps/{region}_lcz_uncertainty.tif",
        "uncertainty_png": report(
            "results/maps/{region}_lcz_uncertainty.png",
            caption="../report/map_uncertainty.rst",
            category="6. LCZ maps",
        ),
    }
    if MAP_UNCERTAINTY
    else {}
)
# map.fusion other than df4lcz: the map jobs read the fused model's α and temperatures from the
# fusion table of map.strategy (the default map reads no fusion record).
MAP_FUSION_INPUTS = RUN.map_fusion_inputs
MAP_FUSION_PARAMS = {"fusion": config["map"]["fusion"]} if MAP_FUSION_INPUTS else {}


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
        **MAP_FUSION_INPUTS,
        plan="results/maps/tiles/{region}/plan.json",
        s2_model=MAP_MODELS["s2"],
        gcn_model=MAP_MODELS["gcn"],
        checkpoint=INPUTS.sam_checkpoint_input,
    output:
        **MAP_STREAM_TILE_OUTPUTS,
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
        **MAP_FUSION_PARAMS,
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
        **MAP_STREAM_TILE_INPUTS,
        **MAP_FUSION_INPUTS,
        plan="results/maps/tiles/{region}/plan.json",
        tiles=INPUTS.map_tile_files,
        labels=lambda wc: REGIONS[wc.region]["labels"] or [],
        truth=lambda wc: (
            [f"resources/demo/{wc.region}/lcz_truth.tif"] if VARIANT.demo_truth else []
        ),
    output:
        **MAP_PROBABILITY_OUTPUTS,
        **MAP_UNCERTAINTY_OUTPUTS,
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
        **MAP_FUSION_PARAMS,
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
