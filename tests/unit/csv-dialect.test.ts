import { describe, expect, it } from 'vitest';
import { detectDelimiter, detectDialect, detectEncoding, SNIFF_BYTES } from '../../server/files/csv-dialect';

describe('detectDelimiter: the scorer', () => {
	it.each([
		{ name: 'comma', text: 'name,company,email\nAda,Engines,a@x.io\n', expected: ',' },
		{ name: 'semicolon', text: 'name;company;email\nAda;Engines;a@x.io\n', expected: ';' },
		{ name: 'tab', text: 'name\tcompany\nAda\tEngines\n', expected: '\t' },
		{ name: 'pipe', text: 'name|company\nAda|Engines\n', expected: '|' },
		{ name: 'semicolons with decimal commas in the values', text: 'name;price;qty\nA;1,5;2\nB;2,25;3\n', expected: ';' },
		{ name: 'commas with semicolons inside quoted cells', text: 'name,notes\n"Ada","a;b;c;d"\n"Bob","x;y"\n', expected: ',' },
		{ name: 'tabs with commas inside unquoted cells', text: 'name\tbio\nAda\tlikes a, b, c\nBob\tx\n', expected: '\t' },
		{ name: 'a quoted newline does not end the row', text: 'a;b\n"x\ny;z";2\n3;4\n', expected: ';' },
		{ name: 'one column: nothing splits the header', text: 'email\na@x.io\nb@y.io\n', expected: ',' },
		{ name: 'a header line without a newline (the whole file)', text: 'a|b|c', expected: '|' },
		{ name: 'consistency beats width: commas vary, semicolons hold', text: 'a;b\n1,2,3;4\n5;6,7\n8;9\n', expected: ';' },
		{ name: 'a tie in consistency goes to the wider split', text: 'a,b;c;d\n1,2;3;4\n', expected: ';' },
		{ name: 'a full tie goes to the comma', text: 'a,b;c\n1,2;3\n', expected: ',' },
		{ name: 'CRLF and blank lines', text: '\r\nname;x\r\n\r\nA;1\r\n', expected: ';' },
		{ name: 'empty text', text: '', expected: ',' }
	])('$name → $expected', ({ text, expected }) => {
		expect(detectDelimiter(text).delimiter).toBe(expected);
	});
});

describe('detectEncoding', () => {
	const ascii = Buffer.from('name,city\nAda,London\n');
	it.each([
		{ name: 'ASCII', bytes: ascii, encoding: 'utf-8', bom: 0 },
		{ name: 'UTF-8', bytes: Buffer.from('name\nZoë\n'), encoding: 'utf-8', bom: 0 },
		{ name: 'UTF-8 BOM', bytes: Buffer.from('\uFEFFname\n'), encoding: 'utf-8', bom: 3 },
		{ name: 'UTF-16 LE BOM', bytes: Buffer.from('\uFEFFname\n', 'utf16le'), encoding: 'utf-16le', bom: 2 },
		{ name: 'UTF-16 BE BOM', bytes: Buffer.from('\uFEFFname\n', 'utf16le').swap16(), encoding: 'utf-16be', bom: 2 },
		{ name: 'UTF-16 LE without BOM', bytes: Buffer.from('name,city\n', 'utf16le'), encoding: 'utf-16le', bom: 0 },
		{ name: 'UTF-16 BE without BOM', bytes: Buffer.from('name,city\n', 'utf16le').swap16(), encoding: 'utf-16be', bom: 0 },
		{ name: 'Latin-1 bytes', bytes: Buffer.from([0x4a, 0x6f, 0x73, 0xe9, 0x0a]), encoding: 'windows-1252', bom: 0 },
		{ name: 'binary with NULs everywhere is not UTF-16', bytes: Buffer.alloc(64), encoding: 'utf-8', bom: 0 }
	])('$name → $encoding', ({ bytes, encoding, bom }) => {
		const found = detectEncoding(bytes);
		expect(found.encoding).toBe(encoding);
		expect(found.bomBytes).toBe(bom);
		expect(found.note !== undefined).toBe(encoding === 'windows-1252');
	});

	it('a UTF-8 character cut by the end of the sample is still UTF-8', () => {
		const bytes = Buffer.from('a\n' + 'é'.repeat(10));
		expect(detectEncoding(bytes.subarray(0, bytes.length - 1)).encoding).toBe('utf-8');
	});

	it('an encoding asked for is used, skipping only its own BOM', () => {
		expect(detectEncoding(Buffer.from('\uFEFFa'), 'windows-1252')).toEqual({ encoding: 'windows-1252', bomBytes: 0, detected: false });
		expect(detectEncoding(Buffer.from('\uFEFFa'), 'utf-8')).toEqual({ encoding: 'utf-8', bomBytes: 3, detected: false });
	});

	it('decides from the first 64 KiB only: a Latin-1 byte further on does not change it', () => {
		const bytes = Buffer.concat([Buffer.from('a\n' + 'x'.repeat(SNIFF_BYTES)), Buffer.from([0xe9, 0x0a])]);
		expect(detectDialect(bytes).encoding.encoding).toBe('utf-8');
		expect(detectDialect(bytes.subarray(SNIFF_BYTES - 10)).encoding.encoding).toBe('windows-1252');
	});
});
