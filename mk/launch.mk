# Stages as job steps: every stage recipe runs its program through $(LAUNCH_<STAGE>), which is
# $(LAUNCH) unless given itself; both are empty by default (the program runs directly).
#   make -j 32 sweep SWEEP=lr LAUNCH='srun --ntasks=1 --cpus-per-task=8' THREADS=8
#   make report LAUNCH=srun LAUNCH_TRAIN='srun --gres=gpu:1' LAUNCH_REPORT='srun --cpus-per-task=1'
# The launcher must exit nonzero when the program fails or is killed (srun does), so that Make
# fails the target; .DELETE_ON_ERROR and the stages' atomic writes leave no artifact behind.
# With a launcher the recipe also sets SLURM_JOB_NAME=<stage>: srun takes it as --job-name when it
# creates a job (on a login node); inside an allocation srun ignores it and names the step after
# the program, build/bin/<stage>, which is the stage's name as well. See docs/cluster.md.
LAUNCH          ?=
LAUNCH_FETCH    ?= $(LAUNCH)
LAUNCH_SORT     ?= $(LAUNCH)
LAUNCH_STATS    ?= $(LAUNCH)
LAUNCH_LRFIND   ?= $(LAUNCH)
LAUNCH_TRAIN    ?= $(LAUNCH)
LAUNCH_EVALUATE ?= $(LAUNCH)
LAUNCH_REPORT   ?= $(LAUNCH)
LAUNCH_SWEEP    ?= $(LAUNCH)

# $(call launch,STAGE,name): the prefix of a stage's command, "" without a launcher.
launch = $(if $(strip $(LAUNCH_$(1))),SLURM_JOB_NAME=$(2) $(LAUNCH_$(1)) )
# $(call launched,STAGE[,FILE]): the end of a launched stage's command: it fails, with one line,
# unless FILE (default $@) exists, so that a launcher that exits 0 without running the program
# (LAUNCH=echo, LAUNCH=true) does not pass for a made target. "" without a launcher. A launcher
# that hangs hangs its stage: bound it with the launcher's own limit (srun --time, timeout 2h);
# an interrupted make deletes the target (.DELETE_ON_ERROR) and the stages leave no temporaries.
launched = $(if $(strip $(LAUNCH_$(1))), && { test -e $(or $(2),$@) || { echo "make: $(or $(2),$@): LAUNCH_$(1) exited 0 but it was not written (the launcher must run the program and exit with its status)" >&2; exit 1; }; })
