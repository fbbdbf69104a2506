/** The part of seek-bzip (a pure-JavaScript bzip2 decoder) the tar reader uses. */
declare module "seek-bzip" {
  interface ByteInput {
    readByte(): number;
    read(buf: Uint8Array, off: number, len: number): number;
    seek(pos: number): void;
    eof(): boolean;
  }
  interface ByteOutput {
    writeByte(b: number): void;
    write(buf: Uint8Array, off: number, len: number): number;
    flush(): void;
  }
  const Bunzip: {
    decode(
      input: Buffer | ByteInput,
      output?: ByteOutput | Buffer | number,
      multistream?: boolean,
    ): Buffer | undefined;
  };
  export default Bunzip;
}
