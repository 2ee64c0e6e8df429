/**
 * The form of each block type, looked up by the block card. `satisfies` makes a block type
 * without a form a type error.
 */
import type { Component } from 'svelte';
import type { BlockInput } from '$lib/workflow/doc';
import type { BlockType } from '$lib/workflow/schema';
import EnrichCompanyForm from './EnrichCompanyForm.svelte';
import EnrichLeadForm from './EnrichLeadForm.svelte';
import FilterForm from './FilterForm.svelte';
import FindEmailForm from './FindEmailForm.svelte';
import FindPhoneForm from './FindPhoneForm.svelte';
import ReadCsvForm from './ReadCsvForm.svelte';
import SaveCsvForm from './SaveCsvForm.svelte';

export interface BlockForm {
	component: Component<{ block: BlockInput }>;
	/**
	 * Params whose problems the open form shows under its own field (with the position marked),
	 * so the card does not list them again.
	 */
	showsProblemsOf?: readonly string[];
}

export const FORMS = {
	read_csv: { component: ReadCsvForm },
	filter: { component: FilterForm, showsProblemsOf: ['expression'] },
	enrich_company: { component: EnrichCompanyForm },
	enrich_lead: { component: EnrichLeadForm },
	find_email: { component: FindEmailForm },
	find_phone: { component: FindPhoneForm },
	save_csv: { component: SaveCsvForm }
} satisfies { [K in BlockType]: BlockForm };

/** The form of a block type, or undefined for a type this editor does not know. */
export function formOf(type: string): BlockForm | undefined {
	return Object.hasOwn(FORMS, type) ? (FORMS as Record<string, BlockForm>)[type] : undefined;
}
