/**
 * `numastat` with no arguments, byte for byte: its compatibility mode (main() sets
 * compatibility_mode when argc == 1), which prints the nodes' numastat files as one table.
 *
 * The rules follow numastat.c:
 * - init_node_ix_map_and_header(): one column per node directory, ascending node number,
 *   headed "node<N>"; the "Total" header is made but compatibility mode never assigns it.
 * - show_info_from_system_file("numastat", 0): one header row (no "----" row), one header
 *   column 16 wide and left-justified holding the counter names in the order of the first
 *   node's file (node_read_numastat's order), node columns 16 wide and right-justified
 *   holding (double)atol(value) with 0 decimal places, and an extra total column that gets
 *   the sums but keeps width 0, so it prints as nothing.
 * - fmt_cell_data(): a cell's text is cut to the column width ("%.0f" of a value with more
 *   than 16 digits keeps its first 16), and display_justified_cell() pads to the width
 *   without a gutter, so a 16-digit value touches the column on its left.
 * - display_table(..., show_zero_rows = show_zero_cols = 1): rows and columns of zeros are
 *   shown; a line starts with the header column and takes data columns while the next one
 *   still fits the screen width (the first always goes in); the columns left over start a
 *   new section after a blank line.
 * - get_screen_width(): 80 by default on a terminal, NUMASTAT_WIDTH or `resize`'s COLUMNS
 *   when valid (1..10000000, else 80), raised to at least 32; when stdout is not a
 *   terminal and NUMASTAT_WIDTH is unset, 10000000, so the table never folds.
 */
import type { NumaStat } from "../kernel/kernel.js";
import { NUMASTAT_FIELDS } from "../kernel/kernel.js";

/** get_screen_width() when stdout is not a terminal (and NUMASTAT_WIDTH is unset) */
export const NUMASTAT_PIPE_WIDTH = 10_000_000;

const LABEL_WIDTH = 16;
const DATA_WIDTH = 16;
/** atol() saturates at LONG_MAX, which as a double is 2^63 */
const LONG_MAX_AS_DOUBLE = 2 ** 63;

/** get_screen_width()'s checks on a width from NUMASTAT_WIDTH or the terminal */
function screenWidthOf(width: number): number {
  let w = Math.trunc(width);
  if (!(w >= 1 && w <= 10_000_000)) w = 80;
  return Math.max(w, 32);
}

/** "%.0f" of (double)atol(counter): the exact decimal of the double. */
function fmtCounter(v: number): string {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`numastat: bad counter value ${v}`);
  const d = Math.min(Math.trunc(v), LONG_MAX_AS_DOUBLE);
  return BigInt(d).toString(); // not String(d): that rounds to 17 significant digits
}

/** fmt_cell_data() + display_justified_cell(): cut to the width, then pad. */
function cell(text: string, width: number, justify: "left" | "right"): string {
  const t = text.slice(0, width);
  return justify === "left" ? t.padEnd(width) : t.padStart(width);
}

/**
 * What `numastat` prints: the numa_hit .. other_node counters of every node. `screenWidth`
 * is the width numastat takes from NUMASTAT_WIDTH or the terminal; by default the width
 * it uses when its output is piped or redirected.
 */
export function numastatCompat(
  nodes: readonly { id: number; stat: NumaStat }[],
  screenWidth: number = NUMASTAT_PIPE_WIDTH,
): string {
  if (!nodes.length) throw new Error("numastat: sysfs not mounted or system not NUMA aware");
  const sorted = [...nodes].sort((a, b) => a.id - b.id);
  for (let k = 0; k < sorted.length; k++) {
    const id = sorted[k]!.id;
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`numastat: bad node id ${id}`);
    if (k && sorted[k - 1]!.id === id) throw new RangeError(`numastat: node ${id} given twice`);
  }
  const width = screenWidthOf(screenWidth);

  // Data columns: the nodes, then the total column (never labelled, width 0).
  const cols = [
    ...sorted.map((n) => ({
      width: DATA_WIDTH,
      header: `node${n.id}`,
      values: NUMASTAT_FIELDS.map((f) => fmtCounter(n.stat[f])),
    })),
    { width: 0, header: "", values: NUMASTAT_FIELDS.map(() => "") },
  ];
  // Rows: the header row (empty label cell), then the counters.
  const rows = [
    { label: "", text: (c: (typeof cols)[number]) => c.header },
    ...NUMASTAT_FIELDS.map((f, r) => ({ label: f, text: (c: (typeof cols)[number]) => c.values[r]! })),
  ];

  // display_table(): sections of as many columns as fit, separated by blank lines.
  const sections: string[] = [];
  let first = 0;
  while (first < cols.length) {
    let next = first;
    const lines = rows.map((row) => {
      let line = cell(row.label, LABEL_WIDTH, "left");
      let used = LABEL_WIDTH;
      let c = first;
      for (;;) {
        line += cell(row.text(cols[c]!), cols[c]!.width, "right");
        used += cols[c]!.width;
        c++;
        if (c >= cols.length || used + cols[c]!.width > width) break;
      }
      next = c;
      return `${line}\n`;
    });
    sections.push(lines.join(""));
    first = next;
  }
  return sections.join("\n");
}
