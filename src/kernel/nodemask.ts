/**
 * nodemask_t: a set of node ids below MAX_NUMNODES, with the operations of
 * include/linux/nodemask.h and lib/bitmap.c the model needs. Values are immutable.
 */
import { MAX_NUMNODES } from "./constants.js";

const WORDS = MAX_NUMNODES / 32;

export class Nodemask {
  private readonly words: Uint32Array;
  private idsCache: number[] | undefined;

  private constructor(words: Uint32Array) {
    this.words = words;
  }

  static readonly NONE = new Nodemask(new Uint32Array(WORDS));

  static of(...ids: number[]): Nodemask {
    return Nodemask.from(ids);
  }

  static from(ids: Iterable<number>): Nodemask {
    const w = new Uint32Array(WORDS);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= MAX_NUMNODES) {
        throw new RangeError(`node id ${id} outside 0..${MAX_NUMNODES - 1}`);
      }
      w[id >>> 5]! |= 1 << (id & 31);
    }
    return new Nodemask(w);
  }

  /** nodemask_of_node() */
  static ofNode(id: number): Nodemask {
    return Nodemask.from([id]);
  }

  has(id: number): boolean {
    if (id < 0 || id >= MAX_NUMNODES) return false;
    return ((this.words[id >>> 5]! >>> (id & 31)) & 1) === 1;
  }

  with(id: number): Nodemask {
    if (this.has(id)) return this;
    const w = this.words.slice();
    w[id >>> 5]! |= 1 << (id & 31);
    return new Nodemask(w);
  }

  without(id: number): Nodemask {
    if (!this.has(id)) return this;
    const w = this.words.slice();
    w[id >>> 5]! &= ~(1 << (id & 31));
    return new Nodemask(w);
  }

  private combine(o: Nodemask, f: (a: number, b: number) => number): Nodemask {
    const w = new Uint32Array(WORDS);
    for (let i = 0; i < WORDS; i++) w[i] = f(this.words[i]!, o.words[i]!);
    return new Nodemask(w);
  }

  /** nodes_and */
  and(o: Nodemask): Nodemask {
    return this.combine(o, (a, b) => a & b);
  }

  /** nodes_or */
  or(o: Nodemask): Nodemask {
    return this.combine(o, (a, b) => a | b);
  }

  /** nodes_andnot */
  andNot(o: Nodemask): Nodemask {
    return this.combine(o, (a, b) => a & ~b);
  }

  /** nodes_intersects */
  intersects(o: Nodemask): boolean {
    for (let i = 0; i < WORDS; i++) if (this.words[i]! & o.words[i]!) return true;
    return false;
  }

  /** nodes_subset: every node of this is in o */
  isSubsetOf(o: Nodemask): boolean {
    for (let i = 0; i < WORDS; i++) if (this.words[i]! & ~o.words[i]!) return false;
    return true;
  }

  /** nodes_equal */
  equals(o: Nodemask): boolean {
    if (this === o) return true;
    for (let i = 0; i < WORDS; i++) if (this.words[i] !== o.words[i]) return false;
    return true;
  }

  /** nodes_empty */
  isEmpty(): boolean {
    for (let i = 0; i < WORDS; i++) if (this.words[i]) return false;
    return true;
  }

  /** The node ids in ascending order (for_each_node_mask). */
  ids(): readonly number[] {
    if (this.idsCache) return this.idsCache;
    const out: number[] = [];
    for (let i = 0; i < WORDS; i++) {
      let w = this.words[i]!;
      while (w) {
        const b = 31 - Math.clz32(w & -w);
        out.push(i * 32 + b);
        w &= w - 1;
      }
    }
    this.idsCache = out;
    return out;
  }

  /** nodes_weight */
  weight(): number {
    return this.ids().length;
  }

  /** first_node: the lowest node, or MAX_NUMNODES when empty */
  first(): number {
    const ids = this.ids();
    return ids.length ? ids[0]! : MAX_NUMNODES;
  }

  /** next_node: the lowest node above n, or MAX_NUMNODES */
  next(n: number): number {
    for (const id of this.ids()) if (id > n) return id;
    return MAX_NUMNODES;
  }

  /** next_node_in: next_node that wraps around; MAX_NUMNODES when the mask is empty */
  nextIn(n: number): number {
    const r = this.next(n);
    return r < MAX_NUMNODES ? r : this.first();
  }

  /** The ordinal (0-based position) of node n in the mask, or -1 (bitmap_pos_to_ord). */
  ordinal(n: number): number {
    return this.ids().indexOf(n);
  }

  /** The k-th node of the mask, 0-based (bitmap_ord_to_pos); undefined past the end. */
  nth(k: number): number | undefined {
    return this.ids()[k];
  }

  /**
   * node_remap(oldbit, old, new): the node at the same ordinal of `to` (modulo its
   * weight), or the node itself when it is not in `from` or `to` is empty (lib/bitmap.c
   * bitmap_bitremap).
   */
  static nodeRemap(n: number, from: Nodemask, to: Nodemask): number {
    const w = to.weight();
    const k = from.ordinal(n);
    if (k < 0 || w === 0) return n;
    return to.nth(k % w)!;
  }

  /** nodes_remap(dst, src, old, new) (lib/bitmap.c bitmap_remap) */
  remap(from: Nodemask, to: Nodemask): Nodemask {
    return Nodemask.from(this.ids().map((n) => Nodemask.nodeRemap(n, from, to)));
  }

  /** nodes_fold(dst, orig, sz): set bit b % sz for each bit b (bitmap_fold) */
  fold(sz: number): Nodemask {
    if (sz <= 0) return Nodemask.NONE;
    return Nodemask.from(this.ids().map((b) => b % sz));
  }

  /** nodes_onto(dst, orig, relmap): the k-th node of relmap is set when bit k of this is (bitmap_onto) */
  onto(relmap: Nodemask): Nodemask {
    return Nodemask.from(relmap.ids().filter((_, k) => this.has(k)));
  }

  /** The Linux list format ("0-2,5"; "" when empty), as %*pbl and sysfs print it. */
  toString(): string {
    return formatNodeList(this.ids());
  }
}

/** Format ascending ids as a Linux list ("0-2,5"). */
export function formatNodeList(ids: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < ids.length) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    parts.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * Parse a Linux list ("0-2,5", "" for empty) into ascending unique ids; throws an Error
 * naming what is wrong (used for the scenario's node lists and cpulists).
 */
export function parseList(text: string, limit: number): number[] {
  const s = text.trim();
  if (s === "") return [];
  const out = new Set<number>();
  for (const part of s.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a number or a range a-b`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`range ${a}-${b} is backwards`);
    if (b >= limit) throw new Error(`${b} is out of range (the limit is ${limit - 1})`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}
