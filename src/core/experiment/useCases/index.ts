/** The use cases every face calls: a face parses with the spec, calls one, and renders what comes back. */
export { taskOf } from './task';
export { checkDataNeeds, dataNeeds, type DataCommand, type DataNeed } from './dataNeeds';
export { extractUseCase } from './extract';
export { cutNote, evaluateUseCase, type EvaluateOutcome, type VectorFile } from './evaluate';
export { sweepAndSelect, type SweepOutcome } from './sweepAndSelect';
export { compareUseCase, type CompareOutcome, type CompareRow, type EngineBaseline } from './compare';
export { rerunUseCase, type RerunOutcome } from './rerun';
export { timingsOf, type ModelHandle, type RunPorts } from './ports';
