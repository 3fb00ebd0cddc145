/** Wording shared by workflows (titles, condition messages) and views. */

/** "1 workload", "2 workloads", "0 values": a number with its noun, never "workload(s)". */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`
}

/** "512 MiB", "1.5 GiB"; below a MiB, "12.3 KiB" or "512 B" (small snapshots). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)} MiB`
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${bytes} B`
}
