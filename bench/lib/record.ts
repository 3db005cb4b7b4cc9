// One result as the JSON and the table show it: value, reference, ratio, target and whether it was met.
import type { Spread } from './stats.ts';

export interface Measurement {
  /** what was measured, e.g. "warm p50 latency (gateway)" */
  name: string;
  /** median over the repetitions */
  value: number;
  unit: string;
  /** the reference's median, in the same unit; null when the measurement has none */
  reference: number | null;
  /** what the reference is, e.g. "direct to the container's unix socket" */
  reference_name: string | null;
  /** value / reference */
  ratio: number | null;
  /** the target in words, e.g. "ratio >= 0.5"; null when there is none */
  target: string | null;
  /** null when there is no target */
  met: boolean | null;
  /** the spread of the value over the repetitions */
  spread: { min: number; max: number; n: number };
  note?: string;
}

export interface MeasureInput {
  name: string;
  unit: string;
  value: Spread;
  reference?: { name: string; value: Spread | number };
  target?: {
    text: string;
    met: (value: number, reference: number | null, ratio: number | null) => boolean;
  };
  note?: string;
}

export function measurement({
  name,
  unit,
  value,
  reference,
  target,
  note,
}: MeasureInput): Measurement {
  const ref =
    reference === undefined
      ? null
      : typeof reference.value === 'number'
        ? reference.value
        : reference.value.median;
  const ratio = ref === null || ref === 0 ? null : value.median / ref;
  return {
    name,
    value: value.median,
    unit,
    reference: ref,
    reference_name: reference?.name ?? null,
    ratio,
    target: target?.text ?? null,
    met: target ? target.met(value.median, ref, ratio) : null,
    spread: { min: value.min, max: value.max, n: value.n },
    ...(note ? { note } : {}),
  };
}
