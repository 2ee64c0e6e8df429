/**
 * The server's runner for every block type, handed to `runJob` by the job manager and the CLI.
 * `satisfies` makes a block type without a runner a type error.
 */
import type { BlockType } from '../../src/lib/workflow/schema';
import type { BlockRunner } from '../engine/types';
import { runEnrichCompany } from './enrich-company';
import { runEnrichLead } from './enrich-lead';
import { runFilter } from './filter';
import { runFindEmail } from './find-email';
import { runFindPhone } from './find-phone';
import { runReadCsv } from './read-csv';
import { runSaveCsv } from './save-csv';

export const RUNNERS = {
	read_csv: runReadCsv,
	filter: runFilter,
	enrich_company: runEnrichCompany,
	enrich_lead: runEnrichLead,
	find_email: runFindEmail,
	find_phone: runFindPhone,
	save_csv: runSaveCsv
} satisfies { [K in BlockType]: BlockRunner<K> };
