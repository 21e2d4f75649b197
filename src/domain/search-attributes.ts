// The search attributes Converge's workflows upsert (DESIGN §5), named once for the workflows that
// set them and for the worker and the namespace preparation that must find them registered.
export const SEARCH_ATTRIBUTE_NAMES = {
  deployment: 'ConvergeDeployment',
  operation: 'ConvergeOperation',
  phase: 'ConvergePhase',
} as const;
