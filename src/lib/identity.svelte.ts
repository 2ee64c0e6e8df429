/**
 * Who "I" am on shared workflows: a display name (asked once, remembered) and a colour derived from
 * it, so the same person keeps the same colour across tabs and sessions.
 */
import * as v from 'valibot';
import { readStored, writeStored } from './local-store';

const KEY = 'leadflow.identity.v1';

const IdentitySchema = v.object({ name: v.pipe(v.string(), v.trim(), v.maxLength(40)) });

/** A palette of distinguishable colours that read well on white. */
export const PRESENCE_COLOURS = [
	'#e11d48',
	'#db2777',
	'#9333ea',
	'#4f46e5',
	'#0284c7',
	'#0891b2',
	'#059669',
	'#65a30d',
	'#ca8a04',
	'#ea580c'
];

/** A stable colour for a name (a small string hash into the palette). */
export function colourFor(name: string): string {
	let h = 0;
	for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
	return PRESENCE_COLOURS[h % PRESENCE_COLOURS.length];
}

/** Up to two initials for an avatar ("Ada Lovelace" → "AL", "ada" → "AD"). */
export function initialsOf(name: string): string {
	const words = name.trim().split(/\s+/).filter(Boolean);
	if (words.length === 0) return '?';
	if (words.length === 1) return words[0].slice(0, 2).toUpperCase();
	return (words[0][0] + words[words.length - 1][0]).toUpperCase();
}

export class Identity {
	name = $state('');
	colour = $derived(colourFor(this.name || 'anonymous'));
	initials = $derived(initialsOf(this.name));

	constructor() {
		this.name = readStored(KEY, IdentitySchema, { name: '' }).name;
	}

	setName(name: string): void {
		this.name = name.trim().slice(0, 40);
		writeStored(KEY, { name: this.name });
	}
}
