#!/usr/bin/env bash
# A Slurm job array over one photo tree on shared storage: each task validates its shard and
# writes its report; a last job (after the array) merges them into one run's report.
#
#   sbatch --array=0-99 deploy/slurm-array.sh /shared/photos /shared/reports
#   sbatch --dependency=afterok:<array job id> --wrap \
#       'image-sidecar-rust merge /shared/reports/shard-*.json --output /shared/reports/validate.json'
#
# The shard count is the array's size (SLURM_ARRAY_TASK_COUNT); --shard auto/N takes the
# index from SLURM_ARRAY_TASK_ID, less SLURM_ARRAY_TASK_MIN. A task that fails is retried by
# Slurm (`--requeue`) and rewrites its own report only.
#SBATCH --job-name=sidecar-validate
#SBATCH --cpus-per-task=2
#SBATCH --time=01:00:00
set -euo pipefail

input=${1:?usage: slurm-array.sh INPUT_DIR REPORT_DIR}
reports=${2:?usage: slurm-array.sh INPUT_DIR REPORT_DIR}
count=${SLURM_ARRAY_TASK_COUNT:?run this script as a Slurm job array (sbatch --array=0-N)}

mkdir -p "$reports"
exec image-sidecar-rust validate \
    --input "$input" \
    --shard "auto/$count" \
    --workers "${SLURM_CPUS_PER_TASK:-2}" \
    --output "$reports/shard-${SLURM_ARRAY_TASK_ID}.json"
