/** Terminal styling: colours only on a terminal that wants them (NO_COLOR, FORCE_COLOR). */
import pc from "picocolors";

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

const plain = (s: string) => s;

export const PLAIN: Style = { bold: plain, dim: plain, red: plain, green: plain, yellow: plain };

export function styleFor(stream: NodeJS.WriteStream): Style {
  const force = process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== "0";
  const on = !process.env.NO_COLOR && (force || Boolean(stream.isTTY));
  if (!on) return PLAIN;
  return { bold: pc.bold, dim: pc.dim, red: pc.red, green: pc.green, yellow: pc.yellow };
}
