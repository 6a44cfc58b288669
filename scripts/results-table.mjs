// Renders the reports of scripts/results.sh (.iv/results/<name>.json) as the Markdown tables of
// BENCHMARKS.md's results section. Usage: node scripts/results-table.mjs [dir]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? join('.iv', 'results');
const f3 = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(3));
// Reports written before the chance levels existed have none: n/a.
const chance = (m, k) => `${f3(m.chance?.predictedShares?.[k])} / ${f3(m.chance?.goldShares?.[k])}`;
const ci = (m, k) => (m.ci?.[k] ? ` [${f3(m.ci[k][0])}, ${f3(m.ci[k][1])}]` : '');
const out = [];
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const r = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const p = r.performance;
  out.push(`### ${r.dataset} (${r.labels.join(' / ')})${r.bos ? ', BOS' : ''}${r.tokenization ? `, ${r.tokenization} tokenization` : ''}`, '');
  out.push(
    `Best IV on validation: k=${r.best.shots}, b=${r.best.refreshEvery}, a1=${r.best.extStrength}, a2=${r.best.evalStrength} (macro-F1 ${f3(r.best.macroF1)}); best without iteration: k=${r.bestNoIteration.shots}, a2=${r.bestNoIteration.evalStrength}. Test: ${r.rows[0].n} episodes per method, ${r.rows[0].items} distinct queries.`,
    '',
  );
  out.push(
    '| method | accuracy | macro-F1 | weighted-F1 | label-margin AUC | majority acc | chance acc (own / gold) | chance macro-F1 (own / gold) | prediction shares |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const m of r.rows) {
    const shares = m.predictionShares.map((s, i) => `${r.labels[i]} ${s.toFixed(2)}`).join(' / ');
    out.push(
      `| ${m.name} | ${f3(m.accuracy)}${ci(m, 'accuracy')} | ${f3(m.macroF1)}${ci(m, 'macroF1')} | ${f3(m.weightedF1)} | ${f3(m.auc)}${ci(m, 'auc')} | ${f3(m.majorityAccuracy)} | ${chance(m, 'accuracy')} | ${chance(m, 'macroF1')} | ${shares} |`,
    );
  }
  out.push('', "Chance: the expected score of guessing at random, ignoring the input, with the method's own prediction shares / with the gold shares.");
  // Where the context cut samples, the tables say how much of them the prompts kept.
  const cuts = [r.extractionCut && ['IV extraction', r.extractionCut], ...r.rows.map((m) => [m.name, m.cut])].filter((c) => c && c[1]?.cutSamples > 0);
  if (cuts.length)
    out.push(
      '',
      `Cut to fit the 256-token context: ${cuts.map(([name, c]) => `${name} ${c.cutSamples} of ${c.samples} samples (mean ${c.meanTokensKept.toFixed(1)} input tokens kept, queries ${c.queries.meanTokensKept.toFixed(1)})`).join('; ')}.`,
    );
  const rate = (x) =>
    `${x.forwardPasses} passes, ${x.tokens} tokens, ${(x.ms / 1000).toFixed(1)} s: ${x.forwardPassesPerSecond.toFixed(0)} passes/s, ${x.tokensPerSecond.toFixed(0)} tokens/s (${x.ratioToEngine.toFixed(2)} x engine)`;
  out.push(
    '',
    `Engine (same run): ${p.engine.tokensPerSecond.toFixed(0)} tokens/s plain batched prefill. IV extraction: ${rate(p.extraction)}. All test evaluations: ${rate(p.evaluation)}.${p.sweep ? ` Sweep: ${p.sweep.configs} configurations in ${(p.sweep.ms / 60000).toFixed(1)} min.` : ''}`,
    '',
  );
}
process.stdout.write(out.join('\n') + '\n');
