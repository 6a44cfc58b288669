/**
 * The envelope editor: one slider and one number input per layer (strength multipliers, 0..2).
 * It only edits values; main.ts decides what to send.
 */
import { ENVELOPE_MAX, ENVELOPE_MIN } from '../src/protocol';
import { layerLabel } from './specs';

const STEP = 0.05;

export function clampEnvelopeValue(x: number): number {
  if (!Number.isFinite(x)) return 1;
  return Math.min(ENVELOPE_MAX, Math.max(ENVELOPE_MIN, Math.round(x * 1000) / 1000));
}

export class EnvelopeEditor {
  private rows: { range: HTMLInputElement; number: HTMLInputElement }[] = [];
  private values: number[] = [];

  /** `onCommit` gets the whole envelope when a value is committed (slider released, number entered). */
  constructor(
    private readonly container: HTMLElement,
    private readonly onCommit: (values: number[]) => void,
  ) {}

  get current(): number[] {
    return [...this.values];
  }

  /**
   * Shows `values` (rebuilding the rows when the number of layers changed); a control being edited
   * keeps its value. Values from the host are kept as they are (a slider shows one beyond 0..2 at its end).
   */
  set(values: readonly number[]): void {
    if (values.length !== this.rows.length) this.build(values.length);
    this.values = [...values];
    this.rows.forEach(({ range, number }, l) => {
      const v = String(this.values[l]);
      if (document.activeElement !== range) range.value = v;
      if (document.activeElement !== number) number.value = v;
    });
  }

  private build(n: number): void {
    this.container.replaceChildren();
    this.rows = Array.from({ length: n }, (_, l) => {
      const row = document.createElement('div');
      row.className = 'envelope-row';
      const id = `envelope-${l}`;
      const label = document.createElement('label');
      label.htmlFor = id;
      label.textContent = layerLabel(l);
      const range = document.createElement('input');
      range.type = 'range';
      range.id = id;
      const number = document.createElement('input');
      number.type = 'number';
      number.className = 'envelope-number';
      number.setAttribute('aria-label', `${layerLabel(l)} strength multiplier`);
      for (const input of [range, number]) {
        input.min = String(ENVELOPE_MIN);
        input.max = String(ENVELOPE_MAX);
        input.step = String(STEP);
        input.dataset.layer = String(l);
      }
      range.addEventListener('input', () => (number.value = range.value));
      range.addEventListener('change', () => this.commit(l, Number(range.value)));
      number.addEventListener('change', () => this.commit(l, Number(number.value)));
      row.append(label, range, number);
      this.container.append(row);
      return { range, number };
    });
  }

  private commit(layer: number, value: number): void {
    const v = clampEnvelopeValue(value);
    this.values[layer] = v;
    this.rows[layer].range.value = String(v);
    this.rows[layer].number.value = String(v);
    this.onCommit(this.current);
  }
}
