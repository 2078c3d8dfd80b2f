// `check`: every rule family in one replay, findings grouped per (rule, key), sorted by severity.

import { EVENT_KINDS, KIND_CODE, type TraceEvent } from '../capture/model.ts';
import { formatEventLine } from '../capture/describe.ts';
import type { Analysis, ReplayContext } from './analysis.ts';
import { replay, type ReplaySource, type ReplayOptions } from './engine.ts';
import { bootFamily } from './rules/boot-protocol.ts';
import { gicFamily } from './rules/gic.ts';
import { psciFamily } from './rules/psci-smccc.ts';
import {
  MAX_EVIDENCE,
  SEVERITIES,
  type Evidence,
  type Finding,
  type FindingSink,
  type RuleDef,
  type RuleFamily,
  type Severity,
} from './rules/rule.ts';
import { uartFamily } from './rules/uart.ts';
import { vmSpecFamily } from './rules/vm-spec.ts';
import { acpiFamily } from './rules/acpi.ts';
import { xenFamily } from './rules/xen-abi.ts';
import { virtioFamily } from './rules/virtio.ts';
import { pciFamily } from './rules/pci.ts';
import { itsFamily } from './rules/its.ts';
import { xenbusFamily } from './rules/xenbus.ts';
import { xenstoreFamily } from './rules/xenstore.ts';
import { blkifFamily } from './rules/blkif.ts';

export const RULE_FAMILIES: readonly RuleFamily[] = [
  uartFamily,
  gicFamily,
  psciFamily,
  xenFamily,
  vmSpecFamily,
  bootFamily,
  acpiFamily,
  virtioFamily,
  pciFamily,
  itsFamily,
  xenbusFamily,
  xenstoreFamily,
  blkifFamily,
];
export const ALL_RULES: readonly RuleDef[] = RULE_FAMILIES.flatMap((f) => f.rules);

/** An unknown --rules pattern: one line naming it and what exists. */
export class RuleSelectionError extends Error {
  override name = 'RuleSelectionError';
}

/** Rule ids matching a comma-separated list of ids, globs ('gic.*', '*waker*') or family names. */
export function selectRules(spec: string | undefined): Set<string> {
  if (!spec) return new Set(ALL_RULES.map((r) => r.id));
  const out = new Set<string>();
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const fam = RULE_FAMILIES.find((f) => f.family === raw);
    const re = new RegExp(
      '^' +
        raw
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.') +
        '$',
    );
    const hits = fam ? fam.rules : ALL_RULES.filter((r) => re.test(r.id));
    if (!hits.length)
      throw new RuleSelectionError(
        `--rules: '${raw}' matches no rule (families: ${RULE_FAMILIES.map((f) => f.family).join(', ')}; see docs/rules.md)`,
      );
    for (const r of hits) out.add(r.id);
  }
  return out;
}

export function evidenceOf(e: TraceEvent): Evidence {
  return {
    seq: e.seq,
    vcpu: e.vcpu,
    time: e.time,
    ...(e.pc !== undefined ? { pc: '0x' + e.pc.toString(16) } : {}),
    text: formatEventLine(e),
  };
}

const MAX_KEYS = 4096;

/** Collects findings grouped per (rule, key); memory bounded by distinct keys × MAX_EVIDENCE. */
export class FindingCollector implements FindingSink {
  private readonly byKey = new Map<string, Finding & { firstSeq: number }>();
  private readonly enabled: Set<string>;
  private order = 0;

  constructor(enabled: Set<string>) {
    this.enabled = enabled;
  }

  report(rule: RuleDef, key: string, message: string, events: readonly (TraceEvent | undefined)[]): void {
    if (!this.enabled.has(rule.id)) return;
    let k = rule.id + '\0' + key;
    // Keys come from guest values (addresses, MPIDRs…): past MAX_KEYS, fold new ones together.
    if (this.byKey.size >= MAX_KEYS && !this.byKey.has(k)) k = rule.id + '\0(more)';
    let f = this.byKey.get(k);
    if (!f) {
      const first = events.find((e) => e !== undefined);
      f = {
        rule: rule.id,
        severity: rule.severity,
        clause: rule.clause,
        title: rule.title,
        message,
        count: 0,
        evidence: [],
        firstSeq: first ? first.seq : Number.MAX_SAFE_INTEGER - 1e6 + this.order++,
      };
      this.byKey.set(k, f);
    }
    f.count++;
    for (const e of events) {
      if (e && f.evidence.length < MAX_EVIDENCE && !f.evidence.some((x) => x.seq === e.seq)) f.evidence.push(evidenceOf(e));
    }
  }

  findings(): Finding[] {
    const sevRank = (s: Severity) => SEVERITIES.indexOf(s);
    return [...this.byKey.values()]
      .sort((a, b) => sevRank(a.severity) - sevRank(b.severity) || a.firstSeq - b.firstSeq || a.rule.localeCompare(b.rule))
      .map(({ firstSeq: _drop, ...f }) => f);
  }
}

export interface CheckResult {
  findings: Finding[];
  counts: Record<Severity, number>;
  rulesChecked: number;
  events: number;
}

/** An Analysis that runs the selected rule families and returns the findings (for one-pass use with others). */
export function checkAnalysis(rules?: Set<string>): Analysis<CheckResult> {
  const enabled = rules ?? selectRules(undefined);
  const sink = new FindingCollector(enabled);
  const members = RULE_FAMILIES.filter((f) => f.rules.some((r) => enabled.has(r.id))).map((f) => f.create(sink));
  // A composite: the engine dispatches by kind, so take the union of the members' kinds, and
  // keep per-kind member lists so each event reaches only the families that want it.
  const kinds = members.some((m) => !m.kinds) ? undefined : [...new Set(members.flatMap((m) => m.kinds ?? []))];
  const byKind: Analysis<void>[][] = EVENT_KINDS.map((k) => members.filter((m) => !m.kinds || m.kinds.includes(k)));
  return {
    name: 'check',
    ...(kinds ? { kinds } : {}),
    members,
    onEvent(e: TraceEvent, ctx: ReplayContext) {
      const list = byKind[KIND_CODE[e.kind]]!;
      for (let i = 0; i < list.length; i++) list[i]!.onEvent(e, ctx);
    },
    finish(ctx: ReplayContext): CheckResult {
      for (const m of members) m.finish(ctx);
      const findings = sink.findings();
      const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
      for (const f of findings) counts[f.severity]++;
      return { findings, counts, rulesChecked: enabled.size, events: ctx.eventsSeen };
    },
  };
}

/** Runs every selected rule over a trace. */
export function check(src: ReplaySource, rules?: Set<string>, opts?: ReplayOptions): CheckResult {
  return replay(src, [checkAnalysis(rules)], opts)['check'] as CheckResult;
}

const SEV_TITLE: Record<Severity, string> = { error: 'errors', warning: 'warnings', info: 'info' };

/** Human-readable report: findings grouped by severity, each with clause and evidence. */
export function formatCheck(r: CheckResult): string {
  const out: string[] = [];
  out.push(
    `${r.events} events checked against ${r.rulesChecked} rules: ${r.counts.error} errors, ${r.counts.warning} warnings, ${r.counts.info} info`,
  );
  for (const sev of SEVERITIES) {
    const fs = r.findings.filter((f) => f.severity === sev);
    if (!fs.length) continue;
    out.push('', `${SEV_TITLE[sev]} (${fs.length})`);
    for (const f of fs) {
      out.push(`  [${f.rule}] ${f.title}${f.count > 1 ? ` (×${f.count})` : ''}`);
      out.push(`    ${f.message}`);
      out.push(`    clause: ${f.clause}`);
      for (const ev of f.evidence) out.push(`    evidence ${ev.text}`);
    }
  }
  if (!r.findings.length) out.push('', 'no findings');
  return out.join('\n') + '\n';
}
