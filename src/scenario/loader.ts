/**
 * Reading scenario files (YAML 1.2 or JSON) with errors that name the file, line, column
 * and field.
 */
import { readFileSync, statSync } from "node:fs";
import { isMap, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { ZodError } from "zod";
import { compileScenario, FieldError, type Path } from "./compile.js";
import { ScenarioSchema } from "./schema.js";
import type { Scenario, SourcePos } from "./types.js";

/** Files larger than this are refused (a scenario is a few kilobytes). */
export const MAX_SCENARIO_BYTES = 8 * 1024 * 1024;

export interface ScenarioProblem {
  /** the file, when it differs from the error's (several files checked at once) */
  file?: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

/** An invalid scenario: exit status 2, one line per problem. */
export class ScenarioError extends Error {
  readonly file: string;
  readonly problems: ScenarioProblem[];
  readonly exitCode = 2;

  constructor(file: string, problems: ScenarioProblem[]) {
    super(
      problems
        .map(
          (p) =>
            `${p.file ?? file}${p.line ? `:${p.line}:${p.column}` : ""}: ${p.field ? `${p.field}: ` : ""}${p.message}`,
        )
        .join("\n"),
    );
    this.file = file;
    this.problems = problems;
  }
}

/** "steps[3].mode" from ["steps", 3, "mode"] */
export function fieldName(path: Path): string {
  let s = "";
  for (const p of path) {
    if (typeof p === "number") s += `[${p}]`;
    else s += s ? `.${p}` : p;
  }
  return s;
}

/** Where a path points in the document: the deepest node that exists on it. */
function locate(doc: ReturnType<typeof parseDocument>, lc: LineCounter, path: Path): SourcePos {
  let node: unknown = doc.contents;
  let pos = 0;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => {
        const k = it.key as Node | string | null;
        const kv = k && typeof k === "object" && "value" in k ? (k as { value: unknown }).value : k;
        return String(kv) === String(key);
      });
      if (!pair) break;
      const keyNode = pair.key as Node | null;
      if (keyNode?.range) pos = keyNode.range[0];
      node = pair.value;
      const vr = (node as Node | null)?.range;
      if (vr && typeof key === "string" && path[path.length - 1] !== key) pos = vr[0];
      continue;
    }
    if (isSeq(node) && typeof key === "number") {
      const item = node.items[key] as Node | undefined;
      if (!item) break;
      if (item.range) pos = item.range[0];
      node = item;
      continue;
    }
    break;
  }
  if (pos === 0 && (doc.contents as Node | null)?.range) pos = (doc.contents as Node).range![0];
  const lp = lc.linePos(pos);
  return { line: lp.line, column: lp.col };
}

function zodProblems(err: ZodError, where: (p: Path) => SourcePos): ScenarioProblem[] {
  return err.issues.slice(0, 20).map((iss) => {
    const path = iss.path as Path;
    const pos = where(path);
    let message = iss.message;
    if (iss.code === "unrecognized_keys") {
      message = `unknown key${iss.keys.length > 1 ? "s" : ""} ${iss.keys.map((k) => `"${k}"`).join(", ")}`;
    } else if (iss.code === "invalid_union" && "discriminator" in iss) {
      message = `unknown op (known: ${(iss as { options?: unknown[] }).options?.join(", ")})`;
    } else if (iss.code === "invalid_type" && iss.message.includes("received undefined")) {
      message = "is required";
    }
    return { ...pos, field: fieldName(path), message };
  });
}

/** Parse and check a scenario from text. */
export function parseScenario(text: string, file = "<scenario>"): Scenario {
  if (text.length > MAX_SCENARIO_BYTES) {
    throw new ScenarioError(file, [
      { line: 1, column: 1, field: "", message: `the file is larger than ${MAX_SCENARIO_BYTES} bytes` },
    ]);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, version: "1.2" });
  if (doc.errors.length) {
    throw new ScenarioError(
      file,
      doc.errors.slice(0, 5).map((e) => {
        const lp = lc.linePos(e.pos[0]);
        return { line: lp.line, column: lp.col, field: "", message: e.message.split("\n")[0]! };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new ScenarioError(file, [{ line: 1, column: 1, field: "", message: (e as Error).message }]);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ScenarioError(file, [
      { line: 1, column: 1, field: "", message: "a scenario is a map with at least `machine`" },
    ]);
  }
  const where = (p: Path) => locate(doc, lc, p);
  const parsed = ScenarioSchema.safeParse(data);
  if (!parsed.success) throw new ScenarioError(file, zodProblems(parsed.error, where));
  try {
    const sc = compileScenario(parsed.data, file === "<scenario>" ? undefined : file);
    for (const s of sc.steps) s.pos = where(["steps", s.index]);
    return sc;
  } catch (e) {
    if (e instanceof FieldError) {
      throw new ScenarioError(file, [{ ...where(e.path), field: fieldName(e.path), message: e.message }]);
    }
    throw e;
  }
}

/** Read and check a scenario file. */
export function loadScenario(file: string): Scenario {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new ScenarioError(file, [
      { line: 0, column: 0, field: "", message: `cannot read the file (${why})` },
    ]);
  }
  if (size > MAX_SCENARIO_BYTES) {
    throw new ScenarioError(file, [
      { line: 1, column: 1, field: "", message: `the file is larger than ${MAX_SCENARIO_BYTES} bytes` },
    ]);
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ScenarioError(file, [
      { line: 0, column: 0, field: "", message: `cannot read the file (${(e as Error).message})` },
    ]);
  }
  return parseScenario(text, file);
}
