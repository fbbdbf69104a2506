/**
 * Known differences between the model and the real kernel: the entries of
 * docs/known-differences.md. Each entry is a fenced ```yaml block naming a scenario and
 * the fields (as `cdmsim verify` prints them, `*` matching anything) where the two may
 * differ, with the reason; the prose around the blocks explains the kernel's behaviour.
 */
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";
import type { Difference } from "./compare.js";

const Entry = z.strictObject({
  scenario: z.string().min(1),
  fields: z.array(z.string().min(1)).min(1),
  reason: z.string().min(1),
});

export interface KnownDifference {
  scenario: string;
  fields: RegExp[];
  reason: string;
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
    out.push({ scenario: r.data.scenario, fields: r.data.fields.map(pattern), reason: r.data.reason });
  }
  return out;
}

/** The entry that covers every one of a scenario's differences, if there is one. */
export function knownFor(
  known: readonly KnownDifference[],
  scenario: string,
  differences: readonly Difference[],
): KnownDifference | undefined {
  return known.find(
    (k) => k.scenario === scenario && differences.every((d) => k.fields.some((f) => f.test(d.field))),
  );
}
