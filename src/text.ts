/** Wording shared by workflows (titles, condition messages) and views. */

/** "1 workload", "2 workloads", "0 values": a number with its noun, never "workload(s)". */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`
}
