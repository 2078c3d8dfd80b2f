export { LoaderError } from './errors.ts';
export { isElf, parseElf, type ElfImage, type ElfSegment } from './elf.ts';
export { hasLinuxImageMagic, parseLinuxImage, type LinuxImageHeader } from './linux-image.ts';
export { KERNEL64_LOAD_OFFSET, planBoot, type BootBlob, type BootInput, type BootPlan, type KernelFormat } from './boot.ts';
