#!/usr/bin/env bash
# Runs kjet's Go benchmarks once each with short -benchtime (the whole set in a few
# minutes on a busy 2-core machine) and prints their raw output. bench/README.md pairs
# each figure with its same-run baseline:
#   storage:  bolt (durable) vs memory, per operation
#   apiserver: BenchmarkCreateGetJobBolt vs BenchmarkCreateGetJob (memory);
#              BenchmarkDecodeStoredPod protobuf vs json; BenchmarkPodWatchers (four
#              watches on one pod change, shared decoding); BenchmarkUpdateManagedFields
#              (a finalizer removal's managedFields: whole objects vs changed parts);
#              BenchmarkFinalizerRemovalPatch (that patch: whole object vs metadata)
#   typeschema: BenchmarkParser embedded vs client-go's YAML (apply type converter)
#   process runtime: BenchmarkStartTrue vs BenchmarkDirectSpawnTrue (os/exec)
#   job controller: BenchmarkSyncIndexedJob2000 and BenchmarkSyncLargeIndexedJob (no baselines; ns per pod)
set -euo pipefail
cd "$(dirname "$0")/.."
run() { echo "## go test -run XXX $*"; go test -run XXX -count 1 "$@"; echo; }
run -bench . -benchtime 200x ./internal/storage/memory/ ./internal/storage/bolt/
run -bench 'CreateGetJob|WatchLatency|GetJobParallel|DecodeStoredPod|PodWatchers|UpdateManagedFields|FinalizerRemovalPatch' -benchtime 300x -benchmem ./internal/apiserver/
run -bench Parser -benchtime 10x -benchmem ./internal/apiserver/internal/typeschema/
run -bench 'StartTrue|DirectSpawnTrue' -benchtime 300x ./internal/runtime/process/
run -bench BenchmarkSyncIndexedJob2000 -benchtime 2x -benchmem ./internal/controller/job/
run -bench BenchmarkSyncLargeIndexedJob -benchtime 100x -benchmem ./internal/controller/job/
