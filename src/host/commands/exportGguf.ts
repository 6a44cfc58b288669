import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import { controlVectorFromArtifact, type ControlVectorDescription } from '../../core/vectors/gguf';
import { displayPath, fileName, parentOf, readArtifactUri, toUri, writeFileAtomic } from '../artifacts';
import { notify, runCommand, type Cancelled } from '../run';
import { classifyArg, type CommandDeps } from './common';
import { artifactBase } from '../../core/experiment/fileNames';
import type { CheckedOptions } from '../../core/experiment/spec';
import { resolveRow, rowChoices, type RowChoice } from '../../core/vectors/rows';
import { checkCommandOptions } from './common';
import { checkWritableOutputs } from '../../node/files';

/** What `iterativeVectors.exportGguf` returns. */
export interface ExportGgufResult {
  command: 'exportGguf';
  /** The .gguf written (URI string) and, for local files, its path. */
  gguf: string;
  ggufPath?: string;
  /** The artifact it came from (URI string). */
  vector: string;
  row: { label: string; tag: string };
  /** Always true: llama.cpp adds control vectors at the block output of every token; IVs live at the attention output at io positions. */
  approximate: true;
  note: string;
  description: ControlVectorDescription;
}

/**
 * `iterativeVectors.exportGguf`: a llama.cpp control vector (`direction.N`) from one row of an
 * artifact (the query row, a class row or a class difference), written as `<name>.<row>.gguf`
 * next to it (or `out`). The export is approximate, and says so.
 */
export function exportGgufCommand(deps: CommandDeps, arg?: unknown): Promise<ExportGgufResult | Cancelled | undefined> {
  const a = classifyArg(arg);
  return runCommand('export GGUF', deps.log, a.kind !== 'options', async () => {
    let o: CheckedOptions;
    if (a.kind === 'options') o = checkCommandOptions('exportGguf', a.options);
    else if (a.kind === 'uri') o = { vector: a.uri };
    else {
      const files = await vscode.window.showOpenDialog({
        canSelectMany: false,
        filters: { 'Vector artifacts': ['safetensors'] },
        title: 'Vector artifact to export (.ivec.safetensors)',
      });
      if (!files?.[0]) return undefined;
      o = { vector: files[0] };
    }
    if (o.vector === undefined) throw new UserError('required: the .ivec.safetensors to export', { field: 'vector' });
    const source = toUri(o.vector, vscode.workspace.workspaceFolders?.[0]?.uri, 'vector');
    const artifact = await readArtifactUri(source);
    const m = artifact.metadata;
    let choice: RowChoice;
    if (a.kind === 'options') choice = resolveRow(o.row, m.method, m.labels);
    else {
      const choices = rowChoices(m.method, m.labels);
      const picked =
        choices.length === 1
          ? choices[0]
          : await vscode.window.showQuickPick(
              choices.map((c) => ({ ...c, label: c.label, description: c.description })),
              { title: `Export ${fileName(source)} as a llama.cpp control vector (approximate)`, placeHolder: 'Which row of each layer to export' },
            );
      if (!picked) return undefined;
      choice = picked;
    }
    const target =
      o.out !== undefined
        ? toUri(o.out, parentOf(source), 'out')
        : vscode.Uri.joinPath(parentOf(source), `${artifactBase(fileName(source))}.${choice.tag}.gguf`);
    if (!fileName(target).endsWith('.gguf')) throw new UserError(`must end with .gguf, got "${fileName(target)}"`, { field: 'out' });
    checkWritableOutputs({ out: target }, { makeFolders: true });
    const exported = controlVectorFromArtifact(artifact, {
      row: choice.row,
      scale: o.scale,
      placement: o.placement,
      modelHint: o.modelHint,
      useLayerStrengths: o.useLayerStrengths,
    });
    await writeFileAtomic(target, exported.bytes);
    const d = exported.description;
    deps.log.info(
      `Wrote ${displayPath(target)}: ${d.layerCount} direction tensors from ${fileName(source)} (${choice.label}), scale ${d.scale}, ${d.placement}.`,
    );
    deps.log.warn(d.note);
    for (const s of d.skipped) deps.log.info(`  layer ${s.sourceLayer} not exported: ${s.reason}`);
    const result: ExportGgufResult = {
      command: 'exportGguf',
      gguf: target.toString(),
      ggufPath: target.scheme === 'file' ? target.fsPath : undefined,
      vector: source.toString(),
      row: { label: choice.label, tag: choice.tag },
      approximate: true,
      note: d.note,
      description: d,
    };
    if (a.kind !== 'options') {
      const skipped = d.skipped.length
        ? ` Layer${d.skipped.length > 1 ? 's' : ''} ${d.skipped.map((s) => s.sourceLayer).join(', ')} could not be expressed.`
        : '';
      void notify(
        deps.log,
        `Iterative Vectors: wrote ${fileName(target)} (${d.layerCount} layers, ${choice.label}). This control vector is APPROXIMATE: llama.cpp adds it to the block output at every token, while these vectors were measured at the attention output at the answer positions.${skipped}`,
        'Reveal',
      ).then((c) => c === 'Reveal' && vscode.commands.executeCommand('revealInExplorer', target));
    }
    return result;
  });
}
