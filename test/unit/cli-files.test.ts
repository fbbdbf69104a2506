/**
 * The files the command writes (`cdmsim compare --html`): an unwritable place is found
 * before any work, and a file is replaced whole or left as it was.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkWritable, fsMessage, writeFileAtomic } from "../../src/cli/files.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cdmsim-files-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const code = (f: () => void) => {
  try {
    f();
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "no code";
  }
};

describe("writeFileAtomic", () => {
  it("writes a new file and replaces an old one, leaving nothing else", () => {
    const f = join(dir, "page.html");
    writeFileAtomic(f, "one");
    expect(readFileSync(f, "utf8")).toBe("one");
    writeFileAtomic(f, "two");
    expect(readFileSync(f, "utf8")).toBe("two");
    expect(readdirSync(dir)).toEqual(["page.html"]);
  });

  it("on a failed rename, leaves what was there and no temporary file", () => {
    const f = join(dir, "taken");
    mkdirSync(f);
    writeFileSync(join(f, "inside"), "x");
    expect(code(() => writeFileAtomic(f, "page"))).toMatch(/^(EISDIR|ENOTEMPTY|EEXIST)$/);
    expect(readdirSync(dir)).toEqual(["taken"]);
    expect(readdirSync(f)).toEqual(["inside"]);
  });
});

describe("checkWritable", () => {
  it("names why a path cannot be written", () => {
    writeFileSync(join(dir, "file"), "x");
    mkdirSync(join(dir, "sub"));
    expect(code(() => checkWritable(join(dir, "page.html")))).toBeNull();
    expect(code(() => checkWritable(join(dir, "file")))).toBeNull();
    expect(code(() => checkWritable(join(dir, "sub")))).toBe("EISDIR");
    expect(code(() => checkWritable(join(dir, "none", "page.html")))).toBe("ENOENT");
    expect(code(() => checkWritable(join(dir, "file", "page.html")))).toBe("ENOTDIR");
    expect(readdirSync(dir).sort()).toEqual(["file", "sub"]);
  });

  it("says it as a user reads it", () => {
    expect(fsMessage(Object.assign(new Error("x"), { code: "ENOENT" }))).toBe("its directory does not exist");
    expect(fsMessage(Object.assign(new Error("x"), { code: "EACCES" }))).toBe("permission denied");
    expect(fsMessage(Object.assign(new Error("odd"), { code: "EWHAT" }))).toBe("odd");
  });
});
