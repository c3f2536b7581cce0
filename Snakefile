# DF4LCZ: scene-level Local Climate Zone classification by fusing SAM-segmented Google Earth
# graphs (GCN) with Sentinel-2 chips (3D ResNet11). Wu et al., IEEE TGRS 62, 2024.
#
#   snakemake --cores N all                    # the whole pipeline on config.yaml
#   snakemake --cores N all --configfile presets/paper.yaml
#
# Every stage lives in rules/<stage>.smk with its input functions; config loading, validation and
# the run-wide constants in rules/common.smk (from df4lcz.run.RunPlan); shard input functions in
# rules/shards.smk; the dataset variant (df4lcz.variants) decides which stage files make the
# samples, streams and splits.

from snakemake.utils import min_version

min_version("9.0")


report: "report/workflow.rst"


# config.yaml (and --configfile files) are read and validated in rules/common.smk


include: "rules/common.smk"


wildcard_constraints:
    shard=r"\d+",
    city=r"demo_city_\d+",
    strategy="|".join(SPLIT_STRATEGIES),
    model="|".join(ALL_MODEL_NAMES),


# the dataset variant's own rules (df4lcz.variants): demo + raster stages, or one importer
for _rule_file in VARIANT.rule_files:

    include: f"rules/{_rule_file}"


include: "rules/valid.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"


# Snakemake's SIGTERM handler can deadlock when the signal lands during job selection (df4lcz.sigterm,
# docs/cluster.md): run it off the main thread. Then, when jobs run on this machine, stop before the
# first one if it lacks a device the settings name (train.device: cuda without a GPU).
onstart:
    from df4lcz.devices import check_devices_here
    from df4lcz.sigterm import defer_sigterm_handler

    defer_sigterm_handler()
    if workflow.local_exec:
        try:
            check_devices_here(config)
        except ConfigError as err:
            raise WorkflowError(str(err)) from None


# Once the run is over, cancel the scheduler's last re-evaluation timer, which the interpreter
# would otherwise wait for (up to a second per call and per cluster job; df4lcz.exit_wait).
onsuccess:
    from df4lcz.exit_wait import cancel_reevaluation_timers

    cancel_reevaluation_timers()


onerror:
    from df4lcz.exit_wait import cancel_reevaluation_timers

    cancel_reevaluation_timers()


# the run's targets (df4lcz.run.RunPlan.final_outputs); a run without labels only maps
rule all:
    default_target: True
    input:
        RUN.final_outputs(),
