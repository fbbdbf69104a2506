/**
 * Known differences between the model and the real kernel: the entries of
 * docs/known-differences.md. Each entry is a fenced ```yaml block naming a scenario and
 * the fields (as `cdmsim verify` prints them, `*` matching anything) where the two may
 * differ, with the reason, and optionally a tolerance: then a listed field whose values
 * are numbers (or records of numbers) is known only while they differ by at most that
 * much. The prose around the blocks explains the kernel's behaviour.
 */
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";
import type { Difference } from "./compare.js";

const Entry = z.strictObject({
  scenario: z.string().min(1),
  fields: z.array(z.string().min(1)).min(1),
  reason: z.string().min(1),
  tolerance: z.number().nonnegative().optional(),
});

export interface KnownDifference {
  scenario: string;
  fields: RegExp[];
  reason: string;
  /** the largest difference of numbers (key by key in records of numbers) that is known */
  tolerance?: number;
}

/** Thrown for a malformed file: names the file, the line and the problem. */
export class KnownDifferencesError extends Error {}

function pattern(glob: string): RegExp {
  const esc = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${esc}$`);
}

/** The entries of a known-differences file (markdown with ```yaml blocks). */
export function loadKnownDifferences(file: string): KnownDifference[] {
  if (!existsSync(file)) throw new KnownDifferencesError(`${file}: no such file`);
  const text = readFileSync(file, "utf8");
  const out: KnownDifference[] = [];
  const block = /^```yaml\n([\s\S]*?)^```/gm;
  for (let m = block.exec(text); m; m = block.exec(text)) {
    const line = text.slice(0, m.index).split("\n").length;
    let parsed: unknown;
    try {
      parsed = parse(m[1]!);
    } catch (e) {
      throw new KnownDifferencesError(`${file}:${line}: ${(e as Error).message.split("\n")[0]}`);
    }
    const r = Entry.safeParse(parsed);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new KnownDifferencesError(
        `${file}:${line}: ${issue.path.join(".") || "entry"}: ${issue.message}`,
      );
    }
    out.push({
      scenario: r.data.scenario,
      fields: r.data.fields.map(pattern),
      reason: r.data.reason,
      ...(r.data.tolerance !== undefined ? { tolerance: r.data.tolerance } : {}),
    });
  }
  return out;
}

const isNumberRecord = (v: unknown): v is Record<string, number> =>
  typeof v === "object" &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === "number");

/**
 * How far apart two values are: for numbers the difference, for records of numbers the
 * largest difference key by key (a key one side lacks counts as 0, as a node without
 * pages); undefined for anything else.
 */
export function numericDistance(a: unknown, b: unknown): number | undefined {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b);
  if (isNumberRecord(a) && isNumberRecord(b)) {
    let most = 0;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
      most = Math.max(most, Math.abs((a[k] ?? 0) - (b[k] ?? 0)));
    return most;
  }
  return undefined;
}

/**
 * Whether an entry covers a difference: one of its fields matches, and with a tolerance,
 * numeric values (numbers or records of numbers) differ by at most it; other values of a
 * listed field are covered as by an entry without tolerance.
 */
export function covers(k: KnownDifference, d: Difference): boolean {
  if (!k.fields.some((f) => f.test(d.field))) return false;
  if (k.tolerance === undefined) return true;
  const distance = numericDistance(d.model, d.kernel);
  return distance === undefined || distance <= k.tolerance;
}

/** The entry that covers every one of a scenario's differences, if there is one. */
export function knownFor(
  known: readonly KnownDifference[],
  scenario: string,
  differences: readonly Difference[],
): KnownDifference | undefined {
  return known.find((k) => k.scenario === scenario && differences.every((d) => covers(k, d)));
}
