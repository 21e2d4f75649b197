// The search attributes a namespace must have before Converge's workflows can run in it: the
// workflows upsert them, and the server fails every workflow task that upserts an unregistered one.
import { SEARCH_ATTRIBUTE_NAMES } from '../domain/search-attributes';

/** Keyword search attributes the workflows upsert (DESIGN §5, UI). */
export const SEARCH_ATTRIBUTES = Object.values(SEARCH_ATTRIBUTE_NAMES);

/** `--search-attribute Name=Keyword` pairs for `temporal server start-dev`. */
export function searchAttributeArgs(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]);
}
