/**
 * Text formats the reports share: sizes in binary units, and escaping for HTML and SVG.
 */

const UNITS = [
  ["PiB", 2 ** 50],
  ["TiB", 2 ** 40],
  ["GiB", 2 ** 30],
  ["MiB", 2 ** 20],
  ["KiB", 2 ** 10],
] as const;

/** a size in the largest unit that divides it exactly ("256 KiB", "12 B") */
export function sizeExact(bytes: number): string {
  for (const [u, d] of UNITS) if (bytes >= d && bytes % d === 0) return `${bytes / d} ${u}`;
  return `${bytes} B`;
}

/** a size to one decimal of its largest unit, for figures that are rarely round ("1.5 GiB") */
export function sizeApprox(bytes: number): string {
  for (const [u, d] of UNITS) {
    if (bytes >= d) return bytes % d === 0 ? `${bytes / d} ${u}` : `${(bytes / d).toFixed(1)} ${u}`;
  }
  return `${bytes} B`;
}

/** Text for HTML or SVG content and attribute values. */
export function escapeMarkup(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}
