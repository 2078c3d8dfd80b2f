// What a spec rule is (data: id, severity, clause, title) and how a family reports findings.
// A family is an Analysis that replays alongside the others and reports through a FindingSink;
// findings are grouped per (rule, key) with a count and the first few evidence events, so memory
// stays bounded however often a rule fires.

import type { TraceEvent } from '../../capture/model.ts';
import type { Analysis } from '../analysis.ts';

export type Severity = 'error' | 'warning' | 'info';
export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

export interface RuleDef {
  readonly id: string;
  readonly severity: Severity;
  /** The clause the rule enforces, e.g. 'PL011 TRM DDI 0183 §3.3.7 (UARTLCR_H)'. */
  readonly clause: string;
  readonly title: string;
  /** What makes it fire (for docs/rules.md and --json). */
  readonly trigger: string;
}

/** One event that shows a finding. */
export interface Evidence {
  seq: number;
  vcpu: number;
  time: number;
  pc?: string;
  /** The event, one line (capture/describe.ts). */
  text: string;
}

export interface Finding {
  rule: string;
  severity: Severity;
  clause: string;
  title: string;
  /** What happened and what to do. */
  message: string;
  /** Occurrences grouped into this finding. */
  count: number;
  evidence: Evidence[];
}

export interface FindingSink {
  /** Report `rule` for `key` (grouping), with the events that show it. */
  report(rule: RuleDef, key: string, message: string, events: readonly (TraceEvent | undefined)[]): void;
  /** Remembered event by seq for later evidence (families keep seqs, the sink keeps bounded copies). */
}

/** A rule family: its rules as data, and a factory for the analysis that checks them. */
export interface RuleFamily {
  readonly family: string;
  readonly rules: readonly RuleDef[];
  create(sink: FindingSink): Analysis<void>;
}

export const MAX_EVIDENCE = 3;
