# Late fusion, evaluation tables and figures, and the one-page summary.


rule fuse:
    input:
        s2="results/predictions/{strategy}/resnet11_3d.csv",
        gcn="results/predictions/{strategy}/gcn.csv",
    output:
        predictions=expand(
            "results/predictions/{{strategy}}/{model}.csv", model=FUSION_MODELS
        ),
        curve="results/predictions/{strategy}/alpha_curve.csv",
        table="results/predictions/{strategy}/fusion.csv",
    log:
        "logs/fuse/{strategy}.log",
    benchmark:
        "benchmarks/fuse/{strategy}.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        fusion=config["fusion"],
        models=FUSION_MODELS,
    script:
        "../workflow_scripts/fuse.py"


rule evaluate:
    input:
        predictions=expand(
            "results/predictions/{key}.csv", key=[f"{s}/{m}" for s, m in EVAL_KEYS]
        ),
        curves=expand(
            "results/predictions/{strategy}/alpha_curve.csv",
            strategy=FUSION_STRATEGIES,
        ),
        samples="results/samples.parquet",
    output:
        metrics=report(
            "results/tables/metrics.csv",
            caption="../report/metrics.rst",
            category="1. Metrics",
        ),
        markdown=report(
            "results/tables/metrics.md",
            caption="../report/metrics.rst",
            category="1. Metrics",
        ),
        per_class=expand(
            "results/tables/per_class_{key}.csv",
            key=[f"{s}_{m}" for s, m in EVAL_KEYS],
        ),
        confusion_csv=expand(
            "results/tables/confusion_{key}.csv",
            key=[f"{s}_{m}" for s, m in EVAL_KEYS],
        ),
        confusion=report(
            expand(
                "results/figures/confusion_{key}.png",
                key=[f"{s}_{m}" for s, m in EVAL_KEYS],
            ),
            caption="../report/confusion.rst",
            category="2. Confusion matrices",
        ),
        reliability=report(
            expand(
                "results/figures/reliability_{key}.png",
                key=[f"{s}_{m}" for s, m in EVAL_KEYS],
            ),
            caption="../report/reliability.rst",
            category="3. Calibration",
        ),
        per_class_f1=report(
            expand(
                "results/figures/per_class_f1_{key}.png",
                key=[f"{s}_{m}" for s, m in EVAL_KEYS],
            ),
            caption="../report/per_class_f1.rst",
            category="5. Per-class F1",
        ),
        alpha=report(
            expand(
                "results/figures/alpha_{strategy}.png",
                strategy=FUSION_STRATEGIES,
            ),
            caption="../report/alpha.rst",
            category="4. Fusion weight",
        ),
    log:
        "logs/evaluate.log",
    benchmark:
        "benchmarks/evaluate.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        eval_keys=EVAL_KEYS,
        fusion_strategies=FUSION_STRATEGIES,
        map_regions=MAP_REGIONS if MAPS else [],
        evaluate=config["evaluate"],
        seed=config["seed"],
    script:
        "../workflow_scripts/evaluate.py"


rule summary:
    input:
        metrics="results/tables/metrics.csv",
        figures=rules.evaluate.output.confusion,
        samples="results/samples.parquet",
        splits=expand("results/splits/{strategy}.csv", strategy=STRATEGIES),
        fusion=expand(
            "results/predictions/{strategy}/fusion.csv",
            strategy=FUSION_STRATEGIES,
        ),
        masks=INPUTS.mask_inputs,
        graphs=INPUTS.graph_inputs,
        s2_chips=INPUTS.stream_files("sentinel2"),
        checks=INPUTS.check_inputs,
        class_loss="results/checks/class_loss/valid_samples.csv",
        map_previews=expand(
            "results/maps/{region}_lcz.png", region=MAP_REGIONS if MAPS else []
        ),
        map_agreements=expand(
            "results/tables/map_agreement_{region}.csv",
            region=MAP_REGIONS if MAPS else [],
        ),
        map_uncertainty=expand(
            "results/maps/{region}_lcz_uncertainty.png",
            region=MAP_REGIONS if MAPS and config["map"]["uncertainty"] else [],
        ),
    output:
        markdown="results/summary.md",
        html=report(
            "results/summary.html",
            caption="../report/summary.rst",
            category="0. Summary",
        ),
    log:
        "logs/summary.log",
    benchmark:
        "benchmarks/summary.tsv"
    conda:
        "../envs/df4lcz.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        strategies=STRATEGIES,
        fusion_strategies=FUSION_STRATEGIES,
        map_regions=MAP_REGIONS if MAPS else [],
        segmentation=VARIANT.segmentation_note,
        evaluate=config["evaluate"],
        provenance=SUMMARY_PROVENANCE,
    script:
        "../workflow_scripts/summary.py"
