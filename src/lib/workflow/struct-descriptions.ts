/**
 * A struct field tells Sixtyfour what to find in its description: an empty one asks for nothing,
 * and the call is paid for all the same. Shared by Enrich Lead (`struct`) and Enrich Company
 * (`struct`, `lead_struct`), so the editor shows it on the field and the run is refused.
 */
import type { StructField } from './params';
import type { Report } from './blocks/types';

/** The description of a struct field, whichever of its two shapes it is written in. */
export function describedAs(field: StructField): string {
	return typeof field === 'string' ? field : field.description;
}

/** Reports an error at `<path>.<field>` for each field whose description is empty or blank. */
export function checkStructDescriptions(struct: Record<string, StructField>, path: string, report: Report): void {
	for (const [name, field] of Object.entries(struct)) {
		if (describedAs(field).trim() === '') {
			report(
				`${path}.${name}`,
				'error',
				`Describe what to find for "${name}" (e.g. "Current job title"): an empty description asks for nothing`
			);
		}
	}
}
