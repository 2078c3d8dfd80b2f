// The part of the WebAssembly JavaScript API (W3C WebAssembly JavaScript Interface, §5) the block
// compiler uses. tsconfig's lib is ES2023 without DOM, and @types/node does not declare it.

declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  type ImportValue = Memory | ((...args: number[]) => number);
  type Imports = Record<string, Record<string, ImportValue>>;
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Record<string, unknown>;
  }
  function validate(bytes: Uint8Array): boolean;
}
