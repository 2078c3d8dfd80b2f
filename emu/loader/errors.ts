/** A kernel/initrd/DTB that cannot be booted: one line naming the file, offset and what was expected. */
export class LoaderError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'LoaderError';
    this.file = file;
  }
}

export const hex = (n: number | bigint): string => '0x' + n.toString(16);
