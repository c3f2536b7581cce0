# DF4LCZ: scene-level Local Climate Zone classification by fusing SAM-segmented Google Earth
# graphs (GCN) with Sentinel-2 chips (3D ResNet11). Wu et al., IEEE TGRS 62, 2024.
#
#   snakemake --cores N all                    # the whole pipeline on config.yaml
#   snakemake --cores N all --configfile presets/paper.yaml
#
# Every stage lives in rules/<stage>.smk; helpers and config validation in rules/common.smk.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


wildcard_constraints:
    shard=r"\d+",
    city=r"demo_city_\d+",
    strategy=r"random|polygon|official",
    model=r"resnet11_3d|resnet11_2d|resnet50_2d|densenet_2d|msmla50|gcn|df4lcz|df4lcz_tuned",


include: "rules/common.smk"


if IMPORTED:  # lczc_ges2 / so2sat: pre-cut patches (and graphs) instead of rasters

    include: "rules/imports.smk"

else:

    include: "rules/demo.smk"
    include: "rules/samples.smk"
    include: "rules/splits.smk"
    include: "rules/google.smk"
    include: "rules/sentinel2.smk"
    include: "rules/map.smk"


include: "rules/train.smk"
include: "rules/evaluate.smk"


rule all:
    input:
        final_outputs,
    default_target: True
