/**
 * The editor's icon set: a block definition names its icon (`icon`), this maps the name to its
 * strokes (16 × 16 paths) and colours.
 */
export interface BlockIconShape {
	paths: readonly string[];
	background: string;
	color: string;
}

export const ICONS: Readonly<Record<string, BlockIconShape>> = {
	file: {
		paths: ['M4 1.75h5.5L12.25 4.5v9.75H4z', 'M9.25 1.75V4.75h3', 'M6 8h4M6 10.5h4'],
		background: '#ecfeff',
		color: '#0e7490'
	},
	funnel: { paths: ['M2.5 3h11l-4.25 5v4.5l-2.5 1.25V8z'], background: '#fefce8', color: '#a16207' },
	person: {
		paths: [
			'M5.5 5.5a2.5 2.5 0 1 0 5 0a2.5 2.5 0 1 0 -5 0',
			'M3.5 13.5c.6-2.4 2.3-3.75 4.5-3.75s3.9 1.35 4.5 3.75',
			'M13 1.5v3M11.5 3h3'
		],
		background: 'var(--accent-soft)',
		color: 'var(--accent)'
	},
	building: {
		paths: ['M2.5 14V4.5l5-2.5v12M7.5 14V6.5l6 2.5v5', 'M1.5 14h13M4.5 7v.01M4.5 9.5v.01M10 10v.01M10 12v.01'],
		background: '#f5f3ff',
		color: '#6d28d9'
	},
	envelope: {
		paths: [
			'M3.5 3.5h9a1.5 1.5 0 0 1 1.5 1.5v6a1.5 1.5 0 0 1-1.5 1.5h-9A1.5 1.5 0 0 1 2 11V5a1.5 1.5 0 0 1 1.5-1.5z',
			'm2.5 4.5 5.5 4 5.5-4'
		],
		background: '#fdf2f8',
		color: '#be185d'
	},
	phone: {
		paths: ['M4.5 2h2l1 3-1.5 1a8 8 0 0 0 4 4l1-1.5 3 1v2a1.5 1.5 0 0 1-1.5 1.5A10.5 10.5 0 0 1 3 3.5 1.5 1.5 0 0 1 4.5 2z'],
		background: '#fff7ed',
		color: '#c2410c'
	},
	download: { paths: ['M8 2v8M5 7l3 3 3-3', 'M2.75 11v2.25h10.5V11'], background: '#f0fdf4', color: '#15803d' }
};

/** For a block type this editor does not know. */
export const UNKNOWN_ICON: BlockIconShape = {
	paths: ['M5 3h6a2 2 0 0 1 2 2v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z'],
	background: 'var(--surface-2)',
	color: 'var(--text-2)'
};
