// GICv3 distributor (GICD), redistributor (GICR: RD_base + SGI_base frames) and ITS registers
// (Arm IHI 0069H, chapter 12 'Programmers' model': the GICD, GICR and GITS register maps; docs/arch.md).
import { makeLookup, type RegisterDef } from './table.ts';

export const GICV3_DIST_REGISTERS: readonly RegisterDef[] = [
  { offset: 0x0000, name: 'GICD_CTLR' },
  { offset: 0x0004, name: 'GICD_TYPER' },
  { offset: 0x0008, name: 'GICD_IIDR' },
  { offset: 0x000c, name: 'GICD_TYPER2' },
  { offset: 0x0010, name: 'GICD_STATUSR' },
  { offset: 0x0040, name: 'GICD_SETSPI_NSR' },
  { offset: 0x0048, name: 'GICD_CLRSPI_NSR' },
  { offset: 0x0050, name: 'GICD_SETSPI_SR' },
  { offset: 0x0058, name: 'GICD_CLRSPI_SR' },
  { offset: 0x0080, name: 'GICD_IGROUPR', count: 32 },
  { offset: 0x0100, name: 'GICD_ISENABLER', count: 32 },
  { offset: 0x0180, name: 'GICD_ICENABLER', count: 32 },
  { offset: 0x0200, name: 'GICD_ISPENDR', count: 32 },
  { offset: 0x0280, name: 'GICD_ICPENDR', count: 32 },
  { offset: 0x0300, name: 'GICD_ISACTIVER', count: 32 },
  { offset: 0x0380, name: 'GICD_ICACTIVER', count: 32 },
  { offset: 0x0400, name: 'GICD_IPRIORITYR', count: 255 },
  { offset: 0x0800, name: 'GICD_ITARGETSR', count: 255 },
  { offset: 0x0c00, name: 'GICD_ICFGR', count: 64 },
  { offset: 0x0d00, name: 'GICD_IGRPMODR', count: 32 },
  { offset: 0x0e00, name: 'GICD_NSACR', count: 64 },
  { offset: 0x0f00, name: 'GICD_SGIR' },
  { offset: 0x0f10, name: 'GICD_CPENDSGIR', count: 4 },
  { offset: 0x0f20, name: 'GICD_SPENDSGIR', count: 4 },
  { offset: 0x6100, name: 'GICD_IROUTER', width: 8, count: 988, first: 32 },
  { offset: 0xffd0, name: 'GICD_PIDR4', count: 4 },
  { offset: 0xffe0, name: 'GICD_PIDR0', count: 4 },
  { offset: 0xfff0, name: 'GICD_CIDR', count: 4 },
];

/** RD_base frame (first 64 KiB of each redistributor). */
export const GICV3_RD_REGISTERS: readonly RegisterDef[] = [
  { offset: 0x0000, name: 'GICR_CTLR' },
  { offset: 0x0004, name: 'GICR_IIDR' },
  { offset: 0x0008, name: 'GICR_TYPER', width: 8 },
  { offset: 0x0010, name: 'GICR_STATUSR' },
  { offset: 0x0014, name: 'GICR_WAKER' },
  { offset: 0x0040, name: 'GICR_SETLPIR', width: 8 },
  { offset: 0x0048, name: 'GICR_CLRLPIR', width: 8 },
  { offset: 0x0070, name: 'GICR_PROPBASER', width: 8 },
  { offset: 0x0078, name: 'GICR_PENDBASER', width: 8 },
  { offset: 0x00a0, name: 'GICR_INVLPIR', width: 8 },
  { offset: 0x00b0, name: 'GICR_INVALLR', width: 8 },
  { offset: 0x00c0, name: 'GICR_SYNCR' },
  { offset: 0xffd0, name: 'GICR_PIDR4', count: 4 },
  { offset: 0xffe0, name: 'GICR_PIDR0', count: 4 },
  { offset: 0xfff0, name: 'GICR_CIDR', count: 4 },
];

/** SGI_base frame (second 64 KiB), offsets relative to the frame. */
export const GICV3_SGI_REGISTERS: readonly RegisterDef[] = [
  { offset: 0x0080, name: 'GICR_IGROUPR0' },
  { offset: 0x0100, name: 'GICR_ISENABLER0' },
  { offset: 0x0180, name: 'GICR_ICENABLER0' },
  { offset: 0x0200, name: 'GICR_ISPENDR0' },
  { offset: 0x0280, name: 'GICR_ICPENDR0' },
  { offset: 0x0300, name: 'GICR_ISACTIVER0' },
  { offset: 0x0380, name: 'GICR_ICACTIVER0' },
  { offset: 0x0400, name: 'GICR_IPRIORITYR', count: 8 },
  { offset: 0x0c00, name: 'GICR_ICFGR', count: 2 },
  { offset: 0x0d00, name: 'GICR_IGRPMODR0' },
  { offset: 0x0e00, name: 'GICR_NSACR' },
];

export const GICV3_ITS_REGISTERS: readonly RegisterDef[] = [
  { offset: 0x0000, name: 'GITS_CTLR' },
  { offset: 0x0004, name: 'GITS_IIDR' },
  { offset: 0x0008, name: 'GITS_TYPER', width: 8 },
  { offset: 0x0080, name: 'GITS_CBASER', width: 8 },
  { offset: 0x0088, name: 'GITS_CWRITER', width: 8 },
  { offset: 0x0090, name: 'GITS_CREADR', width: 8 },
  { offset: 0x0100, name: 'GITS_BASER', width: 8, count: 8 },
  { offset: 0xffd0, name: 'GITS_PIDR4', count: 4 },
  { offset: 0xffe0, name: 'GITS_PIDR0', count: 4 },
  { offset: 0xfff0, name: 'GITS_CIDR', count: 4 },
  { offset: 0x10040, name: 'GITS_TRANSLATER' },
];

/** One redistributor (RD_base + SGI_base) spans 128 KiB without VLPIs. */
export const GICV3_REDIST_STRIDE = 0x20000;
const SGI_FRAME = 0x10000;

export const distRegisterName = makeLookup(GICV3_DIST_REGISTERS);
const rdName = makeLookup(GICV3_RD_REGISTERS);
const sgiName = makeLookup(GICV3_SGI_REGISTERS);
export const itsRegisterName = makeLookup(GICV3_ITS_REGISTERS);

/** Name of a register at `offset` from the start of the redistributor region (any CPU's frame). */
export function redistRegisterName(offset: number, stride = GICV3_REDIST_STRIDE): string {
  const inCpu = offset % stride;
  return inCpu < SGI_FRAME ? rdName(inCpu) : sgiName(inCpu - SGI_FRAME);
}

/** Which redistributor (CPU frame index) an offset in the region belongs to. */
export function redistFrameIndex(offset: number, stride = GICV3_REDIST_STRIDE): number {
  return Math.floor(offset / stride);
}
