#!/usr/bin/python3
"""Instruction-level oracle: run single A64 instructions on Unicorn (python3-unicorn).

stdin: JSON list of {"insn": int, "regs": [31 decimal strings], "nzcv": int}
stdout: JSON list of {"regs": [31 decimal strings], "nzcv": int} or {"error": str}
"""
import json
import sys

from unicorn import Uc, UcError, UC_ARCH_ARM64, UC_MODE_ARM
from unicorn.arm64_const import UC_ARM64_REG_X0, UC_ARM64_REG_NZCV, UC_ARM64_REG_SP

BASE = 0x10000



def reg_ids():
    from unicorn import arm64_const as c
    return [getattr(c, f"UC_ARM64_REG_X{i}") for i in range(31)]


def main():
    cases = json.load(sys.stdin)
    ids = reg_ids()
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.mem_map(BASE, 0x1000)
    out = []
    for c in cases:
        uc.mem_write(BASE, (c["insn"] & 0xFFFFFFFF).to_bytes(4, "little"))
        for i, v in enumerate(c["regs"]):
            uc.reg_write(ids[i], int(v))
        uc.reg_write(UC_ARM64_REG_SP, 0x20000)
        uc.reg_write(UC_ARM64_REG_NZCV, c["nzcv"])
        try:
            uc.emu_start(BASE, BASE + 4, count=1)
            out.append({"regs": [str(uc.reg_read(r)) for r in ids], "nzcv": uc.reg_read(UC_ARM64_REG_NZCV)})
        except UcError as e:
            out.append({"error": str(e)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
