// Which cells a benchmark run measures: BENCH_SUBJECTS (comma-separated subject names) and BENCH_OPS
// (comma-separated prefixes of operation names) narrow a package's subjects and operations, for a
// profile or a re-measurement of one cell; unset, every cell runs.

/** The subjects and operations this run measures, in the package's order. */
export function benchCells(subjects, operations, env = process.env) {
  const wanted = (list) => list.split(',').map((item) => item.trim());
  return {
    subjects: env.BENCH_SUBJECTS ? subjects.filter((name) => wanted(env.BENCH_SUBJECTS).includes(name)) : subjects,
    operations: env.BENCH_OPS ? operations.filter((operation) => wanted(env.BENCH_OPS).some((prefix) => operation.startsWith(prefix))) : operations,
  };
}
